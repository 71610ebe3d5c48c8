"""Measurements a background job takes and every process exports on `/metrics`.

Some numbers can only be taken by walking every tenant: the outbound webhook backlog lives in
each tenant's rows on its cluster, behind row-level security, and a scrape cannot visit ten
thousand tenants. The job that walks them anyway (the webhook sweep) records what it found in
central, one row per series, and each process's `/metrics` exports the latest rows together with
the time they were taken, so an alert can tell a stale measurement from a good one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import Gauge
from sqlalchemy import DateTime, Float, String, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from garment.platform.db import CentralBase
from garment.platform.metrics import (
    MEASUREMENT_TAKEN,
    WEBHOOK_MESSAGES_PENDING,
    WEBHOOK_OLDEST_PENDING,
)


class MeasurementRow(CentralBase):
    """The latest value of one series of one measurement."""

    __tablename__ = "measurements"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    series: Mapped[str] = mapped_column(String(200), primary_key=True)  # the label's value
    value: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class Measured:
    """A gauge whose values a job measures: its one label names the series."""

    name: str
    gauge: Gauge


WEBHOOK_PENDING = Measured("webhook_messages_pending", WEBHOOK_MESSAGES_PENDING)
WEBHOOK_OLDEST_PENDING_AT = Measured("webhook_oldest_pending", WEBHOOK_OLDEST_PENDING)
MEASURED: tuple[Measured, ...] = (WEBHOOK_PENDING, WEBHOOK_OLDEST_PENDING_AT)


async def record_measurement(
    session: AsyncSession,
    measured: Measured,
    values: Mapping[str, float],
    *,
    keep: Collection[str] = (),
) -> None:
    """Replace the series of `measured` with `values`. A series in `keep` (one that could not be
    measured this time, such as an unreachable cluster) stays as it was, with its older time; any
    other series not measured (a cluster taken out of service) disappears."""
    now = datetime.now(UTC)
    await session.execute(
        delete(MeasurementRow).where(
            MeasurementRow.name == measured.name,
            MeasurementRow.series.not_in([*values, *keep]),
        )
    )
    if not values:
        return
    statement = insert(MeasurementRow).values(
        [
            {"name": measured.name, "series": series, "value": value, "measured_at": now}
            for series, value in values.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[MeasurementRow.name, MeasurementRow.series],
            set_={"value": statement.excluded.value, "measured_at": statement.excluded.measured_at},
        )
    )


async def export_measurements(session: AsyncSession, known: Sequence[Measured] = MEASURED) -> None:
    """Set each known gauge from the stored rows, and `garment_measurement_timestamp_seconds`
    to when each series was last taken (when a scrape runs, in whichever process answers it)."""
    by_name = {measured.name: measured for measured in known}
    rows = (await session.execute(select(MeasurementRow))).scalars().all()
    for measured in known:
        measured.gauge.clear()
    MEASUREMENT_TAKEN.clear()
    for row in rows:
        gauge_of = by_name.get(row.name)
        if gauge_of is None:  # taken by a newer version of this code, unknown here
            continue
        gauge_of.gauge.labels(row.series).set(row.value)
        MEASUREMENT_TAKEN.labels(row.name, row.series).set(row.measured_at.timestamp())

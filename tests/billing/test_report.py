"""`garment billing report` for a seeded month (2020-03, which no other test touches) equals
figures computed by hand."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime

import pytest

from garment.central.billing.providers.base import PaymentEvent, PaymentEventKind
from garment.runtime import Runtime
from tests.billing.conftest import invoices_of
from tests.conftest import garment

ENTERPRISE_MONTH = 1_653_900  # 1.490.000 + PPN 163.900
ENTERPRISE_YEAR = 16_539_000  # 14.900.000 + PPN 1.639.000


def at(month: int, day: int) -> datetime:
    return datetime(2020, month, day, 9, 0, tzinfo=UTC)


async def seeded_month(runtime: Runtime) -> dict[str, uuid.UUID]:
    tenants = {name: uuid.uuid4() for name in ("paid", "open", "old_yearly", "churned")}
    plan = [
        ("paid", "monthly", at(3, 5)),
        ("open", "monthly", at(3, 20)),
        ("old_yearly", "yearly", at(1, 10)),
        ("churned", "monthly", at(3, 2)),
    ]
    for name, interval, moment in plan:
        async with runtime.central.transaction() as session:
            await runtime.billing.onboard(
                session,
                tenant_id=tenants[name],
                owner_user_id=None,
                plan_code="enterprise",
                interval=interval,
                now=moment,
            )
    [paid] = await invoices_of(runtime, tenants["paid"])
    async with runtime.central.transaction() as session:
        outcome = await runtime.billing.apply_event(
            session,
            PaymentEvent(
                "sandbox", "evt-report", PaymentEventKind.SUCCEEDED, paid.reference, paid.total
            ),
            now=at(3, 10),
        )
        assert outcome.outcome == "paid"
    async with runtime.central.transaction() as session:
        await runtime.billing.cancel(session, tenants["churned"], now=at(3, 15))
    return tenants


@pytest.mark.usefixtures("cli_env")
async def test_report_figures_equal_hand_computed_values(runtime: Runtime) -> None:
    tenants = await seeded_month(runtime)
    report = (await runtime.billing_report.month("2020-03")).as_dict()
    assert report["invoices"] == {
        "issued": {"count": 3, "total": 3 * ENTERPRISE_MONTH},
        "paid": {"count": 1, "total": ENTERPRISE_MONTH},
        "outstanding": {"count": 2, "total": ENTERPRISE_MONTH + ENTERPRISE_YEAR},
        "tax_issued": 3 * 163_900,
    }
    assert report["mrr"] == 1_490_000
    assert report["subscriptions_by_state"] == {"active": 1, "expired": 1, "incomplete": 2}
    # open: due 03-27, 5 days at month end; old_yearly: due 01-17, 75 days.
    assert report["receivables_ageing"] == {
        "0-30": ENTERPRISE_MONTH,
        "31-60": 0,
        "61-90": ENTERPRISE_YEAR,
        "90+": 0,
    }
    assert report["churned_tenants"] == [str(tenants["churned"])]

    as_json = await garment("billing", "report", "--month", "2020-03", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == report
    as_csv = await garment("billing", "report", "--month", "2020-03", "--format", "csv")
    rows = dict(csv.reader(io.StringIO(as_csv.output)))
    assert rows["MRR"] == "1490000"
    assert rows["invoices paid"] == f"1 / {ENTERPRISE_MONTH}"
    table = await garment("billing", "report", "--month", "2020-03")
    assert table.exit_code == 0 and "MRR" in table.output
    bad = await garment("billing", "report", "--month", "March")
    assert bad.exit_code == 1
    assert "YYYY-MM" in bad.output

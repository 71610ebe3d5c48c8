"""Stages, ledger event kinds and the states of production jobs, makloon dispatches and wage
periods."""

from __future__ import annotations

from enum import StrEnum


class RoutingScope(StrEnum):
    DEFAULT = "default"
    CATEGORY = "category"
    PRODUCT = "product"


class EventKind(StrEnum):
    IN = "in"  # pieces enter the first stage (cut from fabric)
    OUT = "out"  # pieces done at a stage; they enter the next one (or are packed)
    REJECT = "reject"  # pieces refused at a stage (reason code, worker)
    REWORK = "rework"  # rejected pieces sent back to a named earlier stage
    WRITE_OFF = "write_off"  # rejected pieces given up (they count as settled)
    DISPATCH = "dispatch"  # pieces sent to a makloon partner (recorded by makloon)
    SHORT = "short"  # pieces a partner did not return (recorded by makloon)


class RecordKind(StrEnum):
    """The kinds a shop-floor phone records through `POST /production/events`."""

    IN = "in"
    OUT = "out"
    REJECT = "reject"
    REWORK = "rework"
    WRITE_OFF = "write_off"


class JobStatus(StrEnum):
    ACTIVE = "active"
    DONE = "done"


class DispatchStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class PeriodStatus(StrEnum):
    OPEN = "open"
    LOCKED = "locked"


# The default routing seeded for every tenant: code, Indonesian label, English label, capacity
# in pieces per day. `sablon` and `bordir` are optional and added per product or category.
DEFAULT_STAGES: tuple[tuple[str, str, str, int], ...] = (
    ("potong", "Potong", "Cutting", 400),
    ("jahit", "Jahit", "Sewing", 200),
    ("finishing", "Finishing", "Finishing", 300),
    ("qc", "QC", "Quality control", 400),
    ("packing", "Packing", "Packing", 500),
)
OPTIONAL_STAGES: tuple[tuple[str, str, str, int], ...] = (
    ("sablon", "Sablon", "Screen printing", 300),
    ("bordir", "Bordir", "Embroidery", 150),
)

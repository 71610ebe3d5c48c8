"""What a tracking link is at a given moment: its status is derived (revoked, past its expiry, or
active), never stored, so a link expires without a job that flips a column."""

from __future__ import annotations

from enum import StrEnum


class TrackingLinkStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"

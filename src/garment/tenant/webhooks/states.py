"""Statuses of webhook endpoints, messages and attempts."""

from __future__ import annotations

from enum import StrEnum


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"  # by a member, or by us after the endpoint answered 410 Gone


class MessageStatus(StrEnum):
    PENDING = "pending"  # waiting for its turn or its next attempt
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # given up after the last attempt, or answered 410
    CANCELLED = "cancelled"  # the endpoint was disabled by a 410 before its turn


class AttemptTrigger(StrEnum):
    AUTOMATIC = "automatic"
    REPLAY = "replay"


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GONE = "gone"  # 410: the endpoint is disabled


GONE_REASON = "gone"  # `disabled_reason` after a 410 answer

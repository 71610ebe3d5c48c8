"""Customer types: the key price tiers are chosen by."""

from __future__ import annotations

from enum import StrEnum


class CustomerType(StrEnum):
    RETAIL = "retail"
    RESELLER = "reseller"
    CORPORATE = "corporate"


class CustomerSort(StrEnum):
    NAME = "name"  # A → Z
    NEWEST = "-created_at"  # newest first

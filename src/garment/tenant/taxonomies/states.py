"""Taxonomy term types (the seeded defaults use category, size, color and material)."""

from __future__ import annotations

from enum import StrEnum


class TermType(StrEnum):
    CATEGORY = "category"
    SIZE = "size"
    COLOR = "color"
    MATERIAL = "material"
    COLLECTION = "collection"
    CUSTOM = "custom"

"""Statuses and kinds of the catalogue (values other contexts compare against)."""

from __future__ import annotations

from enum import StrEnum


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class CustomerType(StrEnum):
    RETAIL = "retail"
    RESELLER = "reseller"
    CORPORATE = "corporate"


class BomLineKind(StrEnum):
    MATERIAL = "material"
    SERVICE = "service"


class ServiceKind(StrEnum):
    SABLON = "sablon"
    BORDIR = "bordir"
    PRINTING = "printing"
    JAHIT = "jahit"
    OTHER = "other"


class ProductSort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    NAME = "name"
    SKU = "sku"

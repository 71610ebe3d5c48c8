"""The permission catalogue and the default roles (chapter 25). Served at
`GET /api/v1/tenant/permissions`; a test walks every tenant route for a declared permission."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Permission:
    key: str
    description_id: str
    description_en: str


PERMISSIONS: tuple[Permission, ...] = (
    Permission("members.view", "Melihat anggota", "View members"),
    Permission(
        "members.manage", "Mengelola anggota dan undangan", "Manage members and invitations"
    ),
    Permission("roles.view", "Melihat peran", "View roles"),
    Permission("roles.manage", "Mengelola peran", "Manage roles"),
    Permission("taxonomies.view", "Melihat kategori, ukuran, warna, bahan", "View taxonomies"),
    Permission(
        "taxonomies.manage", "Mengelola kategori, ukuran, warna, bahan", "Manage taxonomies"
    ),
    Permission("products.view", "Melihat produk", "View products"),
    Permission("products.manage", "Mengelola produk", "Manage products"),
    Permission("materials.view", "Melihat bahan dan stok", "View materials and stock"),
    Permission("materials.manage", "Mengelola bahan dan stok", "Manage materials and stock"),
    Permission("customers.view", "Melihat pelanggan", "View customers"),
    Permission("customers.manage", "Mengelola pelanggan", "Manage customers"),
    Permission("quotations.view", "Melihat penawaran", "View quotations"),
    Permission("quotations.manage", "Mengelola penawaran", "Manage quotations"),
    Permission("orders.view", "Melihat pesanan", "View orders"),
    Permission("orders.manage", "Mengelola pesanan", "Manage orders"),
    Permission("orders.approve", "Menyetujui pesanan", "Approve orders"),
    Permission("payments.view", "Melihat pembayaran pesanan", "View order payments"),
    Permission("payments.manage", "Mencatat pembayaran pesanan", "Record order payments"),
    Permission("production.view", "Melihat produksi", "View production"),
    Permission(
        "production.record",
        "Mencatat hasil kerja di lantai produksi",
        "Record shop-floor piece events",
    ),
    Permission(
        "production.manage", "Mengelola alur dan koreksi produksi", "Manage routing and corrections"
    ),
    Permission("makloon.view", "Melihat makloon", "View makloon"),
    Permission("makloon.manage", "Mengelola makloon", "Manage makloon"),
    Permission("wages.view", "Melihat upah borongan", "View piece-rate wages"),
    Permission("wages.manage", "Mengelola upah borongan", "Manage piece-rate wages"),
    Permission("deliveries.view", "Melihat surat jalan", "View deliveries"),
    Permission("deliveries.manage", "Mengelola surat jalan", "Manage deliveries"),
    Permission("invoices.view", "Melihat faktur pelanggan", "View customer invoices"),
    Permission("invoices.manage", "Mengelola faktur pelanggan", "Manage customer invoices"),
    Permission("tax.view", "Melihat pengaturan pajak dan ekspor", "View tax settings and exports"),
    Permission(
        "tax.manage", "Mengelola pajak dan ekspor Coretax", "Manage tax and Coretax exports"
    ),
    Permission("webhooks.view", "Melihat webhook", "View webhooks"),
    Permission("webhooks.manage", "Mengelola webhook", "Manage webhooks"),
    Permission("billing.view", "Melihat tagihan", "View billing"),
    Permission("billing.manage", "Mengelola langganan dan pembayaran", "Manage billing"),
    Permission("audit.view", "Melihat log audit", "View the audit log"),
    Permission("settings.view", "Melihat pengaturan usaha", "View business settings"),
    Permission("settings.manage", "Mengelola pengaturan usaha", "Manage business settings"),
)
PERMISSION_KEYS: frozenset[str] = frozenset(permission.key for permission in PERMISSIONS)


@dataclass(frozen=True, slots=True)
class DefaultRole:
    key: str
    name_id: str
    name_en: str
    permissions: frozenset[str]


def _all_except(*excluded: str) -> frozenset[str]:
    return PERMISSION_KEYS - set(excluded)


def _both(*resources: str) -> set[str]:
    return {f"{resource}.{action}" for resource in resources for action in ("view", "manage")}


CATALOGUE_VIEW = {"products.view", "taxonomies.view"}

DEFAULT_ROLES: tuple[DefaultRole, ...] = (
    DefaultRole("owner", "Pemilik", "Owner", PERMISSION_KEYS),
    DefaultRole("admin", "Admin", "Admin", _all_except("billing.manage")),
    DefaultRole(
        "sales",
        "Penjualan",
        "Sales",
        frozenset(
            _both("customers", "quotations", "orders", "deliveries")
            | CATALOGUE_VIEW
            | {"payments.view"}
        ),
    ),
    DefaultRole(
        "production",
        "Produksi",
        "Production",
        frozenset(
            {"production.view", "production.record", "production.manage", "orders.view"}
            | _both("makloon", "materials")
            | CATALOGUE_VIEW
        ),
    ),
    DefaultRole("operator", "Operator", "Operator", frozenset({"production.record"})),
    DefaultRole(
        "finance",
        "Keuangan",
        "Finance",
        frozenset(
            _both("invoices", "payments", "wages", "tax")
            | {"billing.view", "orders.view", "customers.view"}
        ),
    ),
    DefaultRole(
        "viewer",
        "Pengamat",
        "Viewer",
        frozenset(key for key in PERMISSION_KEYS if key.endswith(".view")),
    ),
)
DEFAULT_ROLE_KEYS: frozenset[str] = frozenset(role.key for role in DEFAULT_ROLES)

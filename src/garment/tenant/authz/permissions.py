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
    Permission("roles.manage", "Mengelola peran", "Manage roles"),
    Permission("taxonomies.view", "Melihat kategori, ukuran, warna, bahan", "View taxonomies"),
    Permission(
        "taxonomies.manage", "Mengelola kategori, ukuran, warna, bahan", "Manage taxonomies"
    ),
    Permission("products.view", "Melihat produk", "View products"),
    Permission("products.manage", "Mengelola produk", "Manage products"),
    Permission("customers.view", "Melihat pelanggan", "View customers"),
    Permission("customers.manage", "Mengelola pelanggan", "Manage customers"),
    Permission("orders.view", "Melihat pesanan", "View orders"),
    Permission("orders.manage", "Mengelola pesanan", "Manage orders"),
    Permission("orders.approve", "Menyetujui pesanan", "Approve orders"),
    Permission("billing.view", "Melihat tagihan", "View billing"),
    Permission("billing.manage", "Mengelola langganan dan pembayaran", "Manage billing"),
    Permission("audit.view", "Melihat log audit", "View the audit log"),
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


DEFAULT_ROLES: tuple[DefaultRole, ...] = (
    DefaultRole("owner", "Pemilik", "Owner", PERMISSION_KEYS),
    DefaultRole("admin", "Admin", "Admin", _all_except("billing.manage")),
    DefaultRole(
        "production",
        "Produksi",
        "Production",
        frozenset({"orders.view", "orders.manage", "products.view", "taxonomies.view"}),
    ),
    DefaultRole(
        "sales",
        "Penjualan",
        "Sales",
        frozenset(
            {
                "customers.view",
                "customers.manage",
                "orders.view",
                "orders.manage",
                "products.view",
                "taxonomies.view",
            }
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

"""Messages of tenant authorization."""

from __future__ import annotations

from garment.platform.i18n import Message

UNKNOWN_ROLES = Message("Peran tidak dikenal: {roles}.", "Unknown roles: {roles}.")
UNKNOWN_PERMISSIONS = Message(
    "Izin tidak dikenal: {permissions}.", "Unknown permissions: {permissions}."
)

"""Field messages of customers."""

from __future__ import annotations

from garment.platform.i18n import Message

NITKU_NEEDS_NPWP = Message("NITKU memerlukan NPWP pelanggan.", "A NITKU needs the customer's NPWP.")
NITKU_NOT_OF_NPWP = Message(
    "NITKU harus diawali NPWP 16 digit pelanggan ({npwp}).",
    "The NITKU must start with the customer's 16-digit NPWP ({npwp}).",
)

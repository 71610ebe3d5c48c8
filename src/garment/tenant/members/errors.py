"""Error details of members (the codes are the platform's CONFLICT and PERMISSION_DENIED)."""

from __future__ import annotations

OWNER_ROLE = "owner"
LAST_OWNER = "last_owner"

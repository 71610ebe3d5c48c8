"""Schemathesis hooks for the contract suite (`SCHEMATHESIS_HOOKS=tests.contract.hooks`).

The fuzzer signs in as a real member of a real tenant (and a platform admin, so the admin
operations are reached too). Operations that end its session (logout, revoking a session, a
force logout) are fuzzed like the rest: the next request answers 401, and schemathesis asks this
provider for a fresh token, which signs in again. The provider only ever *replaces* a generated
`X-Tenant-ID` with the real tenant, never adds one, so the "header missing" probes stay missing.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis

TENANT_HEADER = "X-Tenant-ID"
FINGERPRINT = "contract-suite"
REFRESH_PATH = "/api/v1/auth/refresh"
_refreshes = 0


def sign_in() -> dict[str, Any]:
    """A fresh login of the fuzzer's account (its own session, so nothing else is disturbed)."""
    with httpx.Client(base_url=os.environ["CONTRACT_BASE_URL"], timeout=30, trust_env=False) as c:
        login = c.post(
            "/api/v1/auth/login",
            json={
                "email": os.environ["CONTRACT_EMAIL"],
                "password": os.environ["CONTRACT_PASSWORD"],
            },
            headers={"X-Device-Fingerprint": FINGERPRINT},
        )
        login.raise_for_status()
        body: dict[str, Any] = login.json()
        return body


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every other schema-valid refresh carries a real refresh token (from a fresh login, with
    its device fingerprint), so the success path and its response schema are checked too; the
    others keep their generated tokens and get the refusal."""
    global _refreshes
    if case.operation.path != REFRESH_PATH or not isinstance(case.body, dict):
        return
    meta = getattr(case, "meta", None)
    if meta is None or not meta.generation.mode.is_positive:
        return
    _refreshes += 1
    if _refreshes % 2:
        return
    case.body["refresh_token"] = sign_in()["refresh_token"]
    case.headers = {**(case.headers or {}), "X-Device-Fingerprint": FINGERPRINT}


@schemathesis.auth()
class MemberToken:
    """A tenant-scoped access token of a fresh session (it opens account endpoints too)."""

    def get(self, case: Any, context: Any) -> str:
        access = sign_in()["access_token"]
        with httpx.Client(
            base_url=os.environ["CONTRACT_BASE_URL"], timeout=30, trust_env=False
        ) as c:
            selected = c.post(
                "/api/v1/auth/tenant-token",
                json={"tenant_id": os.environ["CONTRACT_TENANT_ID"]},
                headers={"Authorization": f"Bearer {access}"},
            )
            selected.raise_for_status()
            token: str = selected.json()["access_token"]
            return token

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
        for name in list(case.headers):
            if name.lower() == TENANT_HEADER.lower():
                case.headers[name] = os.environ["CONTRACT_TENANT_ID"]

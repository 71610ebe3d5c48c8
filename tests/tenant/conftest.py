"""Helpers for the tenant runtime suites: members with given roles, problem assertions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from garment.central.tenancy.models import Membership
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, login, make_user
from tests.tenancy.conftest import TenantSetup, select_tenant


@dataclass
class Caller:
    """A member of a tenant, signed in with a tenant token."""

    __test__ = False

    setup: TenantSetup
    user: TestUser
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {**bearer(self.token), "X-Tenant-ID": str(self.setup.tenant_id), **extra}


def owner_of(setup: TenantSetup) -> Caller:
    return Caller(setup, setup.owner, setup.token)


async def member_with_roles(
    runtime: Runtime, client: httpx.AsyncClient, setup: TenantSetup, roles: list[str]
) -> Caller:
    """A new active member of the tenant holding `roles`, signed in to it."""
    user = await make_user(runtime)
    async with runtime.central.transaction() as session:
        session.add(
            Membership(
                tenant_id=setup.tenant_id,
                user_id=user.id,
                status="active",
                role_keys=sorted(roles),
            )
        )
        await runtime.tenancy.member_changed(session, setup.tenant_id, user.id)
    signed_in = await login(client, user)
    token = await select_tenant(client, signed_in["access_token"], setup.tenant_id)
    return Caller(setup, user, token)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def field_errors(response: httpx.Response) -> dict[str, list[str]]:
    body = problem(response, 422, "VALIDATION_FAILED")
    errors: dict[str, list[str]] = body["errors"]
    return errors


def new_key() -> str:
    return str(uuid.uuid4())

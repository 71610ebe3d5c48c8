"""Drill (incident playbook 2, docs/22): `X-Tenant-ID` naming another tenant than the token's
`tid`, on a real `garment serve` over HTTP, first sent outright, then the way it usually
happens (two tabs on one login: tab B selects another tenant, tab A's refresh hands it a token
of that tenant while it still sends its own). The 403 names neither tenant; the playbook's
commands, run as the operator types them, must: the token's tenant, the header as sent, and
whether that header names a tenant at all."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from garment.config import Settings
from garment.runtime import Runtime
from tests.auth.conftest import TestUser, bearer, make_user
from tests.drills.support import Drill, running_server
from tests.tenancy.conftest import TenantSetup, select_tenant, tenant_setup

pytestmark = pytest.mark.slow

ME = "/api/v1/tenant/me"


def mismatch(response: httpx.Response, *tenants: TenantSetup) -> str:
    """The request id of a documented 403 that gives nothing away about either tenant."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "TENANT_CONTEXT_MISMATCH", body
    for tenant in tenants:
        assert str(tenant.tenant_id) not in response.text and tenant.slug not in response.text
    assert not {"token_tenant_id", "header_tenant_id", "header_tenant"} & set(body), body
    request_id = response.headers["X-Request-ID"]
    assert body["request_id"] == request_id
    return request_id


def mismatches(drill: Drill, user: TestUser) -> list[dict[str, Any]]:
    """Step 1 exactly as documented, then this user's mismatches, oldest first."""
    rows: list[dict[str, Any]] = drill.json(
        f"garment auth activities --user {user.email} --since 1h --json"
    )
    assert {row["user_id"] for row in rows} == {str(user.id)}
    return [row for row in reversed(rows) if row["type"] == "tenant_context_mismatch"]


async def test_a_tenant_context_mismatch_is_traced_by_the_playbook_commands(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    owner = await make_user(runtime)
    async with running_server(settings, tmp_path) as drill:
        http = drill.http
        first = await tenant_setup(runtime, http, owner=owner)
        second = await tenant_setup(runtime, http, owner=owner)
        assert (await http.get(ME, headers=first.headers())).status_code == 200

        # --- the incident, outright: tenant 1's token, tenant 2's slug ---
        outright = await http.get(ME, headers=first.headers(tenant=second.slug))
        outright_id = mismatch(outright, first, second)
        nowhere = f"konveksi-{uuid.uuid4().hex[:10]}"  # names no tenant: the same answer
        probing = await http.get(ME, headers=first.headers(tenant=nowhere))
        probing_id = mismatch(probing, first, second)
        assert probing.json().keys() == outright.json().keys()

        # --- and as it usually happens: two tabs, one session ---
        session = second.session  # the login tenant_setup made for the second tenant
        tab_a = await select_tenant(http, session["access_token"], first.tenant_id)
        assert (await http.get(ME, headers=first.headers(tab_a))).status_code == 200
        await select_tenant(http, session["access_token"], second.tenant_id)  # tab B
        rotated = await http.post(
            "/api/v1/auth/refresh",
            json={"refresh_token": session["refresh_token"]},
            headers={"X-Device-Fingerprint": "device-A"},
        )
        assert rotated.status_code == 200, rotated.text
        tab_a_refreshed = rotated.json()["access_token"]
        tabs_id = mismatch(
            await http.get(ME, headers=first.headers(tab_a_refreshed)), first, second
        )

        # --- step 1: the token's tenant ---
        found = mismatches(drill, owner)
        assert [row["request_id"] for row in found] == [outright_id, probing_id, tabs_id]
        outright_row, probing_row, tabs_row = found
        assert outright_row["tenant_id"] == str(first.tenant_id)
        assert outright_row["details"]["token_tenant_id"] == str(first.tenant_id)
        assert tabs_row["tenant_id"] == str(second.tenant_id), "the refresh kept tab B's choice"
        # The third within the window makes it suspicious.
        assert [row["suspicious"] for row in found] == [False, False, True]
        assert tabs_row["reason"] == "tenant_mismatch"
        [flagged] = [
            row
            for row in drill.json(
                "garment auth activities --suspicious --since 1h --reason tenant_mismatch --json"
            )
            if row["user_id"] == str(owner.id)
        ]
        assert flagged["request_id"] == tabs_id

        inspected = drill.json(f"garment auth inspect-token {tab_a_refreshed}")
        assert inspected["verdict"] == "valid"
        claims = inspected["claims"]
        assert claims["tid"] == str(second.tenant_id), "the token is tenant 2's"
        assert claims["aud"] == "garment-tenant" and claims["scope"] == "tenant"
        assert claims["sub"] == str(owner.id)
        own = drill.json(f"garment auth inspect-token {first.token}")
        assert own["claims"]["tid"] == str(first.tenant_id)

        # --- step 2: the header as the client sent it ---
        assert outright_row["details"]["header_tenant"] == second.slug
        assert probing_row["details"]["header_tenant"] == nowhere
        assert tabs_row["details"]["header_tenant"] == str(first.tenant_id)
        named = drill.ok(f"garment tenants show {second.slug}")
        assert str(second.tenant_id) in named and second.slug in named, named
        shown = drill.json(f"garment tenants show {tabs_row['details']['header_tenant']} --json")
        assert shown["slug"] == first.slug
        unknown = drill.command(f"garment tenants show {nowhere}")
        assert unknown.returncode == 1 and "TENANT_NOT_FOUND" in unknown.stderr, unknown
        assert f"'{nowhere}'" in unknown.stderr, unknown
        selections = await http.get(
            "/api/v1/auth/activities",
            params={"type": "tenant_token_issued"},
            headers=bearer(first.session["access_token"]),
        )
        assert selections.status_code == 200, selections.text
        assert {str(first.tenant_id), str(second.tenant_id)} <= {
            row["tenant_id"] for row in selections.json()["data"]
        }

        # The warning line and the request line of the same request, by request id.
        lines = [
            json.loads(line)
            for line in drill.ok(f"garment logs --request-id {outright_id} --json").splitlines()
            if line.strip()
        ]
        warning = next(line for line in lines if line["event"] == "auth.tenant_context_mismatch")
        assert warning["activity_id"] == outright_row["id"] and warning["level"] == "warning"
        assert warning["tenant_id"] == str(first.tenant_id)
        request = next(line for line in lines if line["event"] == "request")
        assert request["code"] == "TENANT_CONTEXT_MISMATCH" and request["status"] == 403

        # --- step 3: reproduce, and tell the neighbours apart ---
        assert (await http.get(ME, headers=first.headers(tenant=first.slug))).status_code == 200
        central = await http.get(ME, headers=first.headers(first.session["access_token"]))
        assert central.status_code == 401 and central.json()["code"] == "AUTH_TOKEN_INVALID"

        # --- step 4: select again, then send the token and its tenant together ---
        reselected = await select_tenant(http, session["access_token"], first.tenant_id)
        assert (await http.get(ME, headers=first.headers(reselected))).status_code == 200

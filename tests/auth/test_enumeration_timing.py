"""`/auth/password/forgot` and `/auth/email/resend` do the same database work for a known and an
unknown address, so neither the answer nor its timing tells whether an account exists (the
look-up, the activity and the mail happen later, in the outbox listener)."""

from __future__ import annotations

import uuid

from garment.app import create_app
from garment.central.auth.activities import ActivityFilter
from garment.platform.pagination import PageParams
from garment.runtime import Runtime
from tests.auth.conftest import make_user
from tests.conftest import make_client
from tests.roundtrips import RoundTripProxy


def unknown_email() -> str:
    return f"ghost-{uuid.uuid4().hex[:10]}@example.com"


async def test_known_and_unknown_addresses_cost_the_same_round_trips(
    proxied: tuple[Runtime, RoundTripProxy, RoundTripProxy],
) -> None:
    runtime, central, _ = proxied
    known = await make_user(runtime, verified=False)
    async with make_client(create_app(runtime=runtime)) as http:
        for path in ("/api/v1/auth/password/forgot", "/api/v1/auth/email/resend"):
            costs = {}
            # Warm: the first request of a process pays for connections and prepared statements.
            await http.post(path, json={"email": unknown_email()})
            for label, email in (("known", known.email), ("unknown", unknown_email())):
                central.reset()
                answer = await http.post(path, json={"email": email})
                assert answer.status_code == 202, answer.text
                costs[label] = (central.reset(), answer.json())
            assert costs["known"] == costs["unknown"], (path, costs)


async def test_the_listener_still_records_the_request_and_mails_the_known_address(
    runtime: Runtime,
) -> None:
    user = await make_user(runtime)
    async with make_client(create_app(runtime=runtime)) as http:
        answer = await http.post(
            "/api/v1/auth/password/forgot",
            json={"email": user.email},
            headers={"User-Agent": "drill-agent/1.0"},
        )
        assert answer.status_code == 202
        request_id = answer.headers["X-Request-ID"]
    await runtime.relay.drain()
    async with runtime.central.transaction() as session:
        rows, _ = await runtime.auth.activities.list(
            session,
            ActivityFilter(user_id=user.id, type="password_reset_requested"),
            PageParams(limit=5),
        )
    assert len(rows) == 1
    assert rows[0].request_id == request_id
    assert rows[0].user_agent == "drill-agent/1.0"

"""Helpers for the auth suites: users, logins and the mails the outbox sends."""

from __future__ import annotations

import email
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx

from garment.central.auth.models import User
from garment.runtime import Runtime

PASSWORD = "kain-batik-sutra-2026"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


@dataclass
class TestUser:
    __test__ = False  # a helper, not a test class

    id: uuid.UUID
    email: str
    password: str


async def make_user(
    runtime: Runtime,
    *,
    verified: bool = True,
    admin: bool = False,
    password: str = PASSWORD,
    locale: str = "id",
    email_address: str | None = None,
) -> TestUser:
    address = email_address or unique_email()
    async with runtime.central.transaction() as session:
        user = User(
            id=uuid.uuid4(),
            email=address,
            name="Sari Wulandari",
            locale=locale,
            password_hash=runtime.auth.components.hashing.hash(password),
            email_verified_at=datetime.now(UTC) if verified else None,
            is_platform_admin=admin,
        )
        session.add(user)
    return TestUser(user.id, address, password)


async def login(
    client: httpx.AsyncClient, user: TestUser, fingerprint: str | None = "device-A"
) -> dict[str, Any]:
    headers = {"X-Device-Fingerprint": fingerprint} if fingerprint else {}
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": user.password},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mails_to(
    directory: Path, address: str, about: str | None = None
) -> list[email.message.EmailMessage]:
    """Mails to `address` (oldest first), optionally only those whose subject contains `about`."""
    found = []
    for path in sorted(directory.glob("*.eml")):
        raw = path.read_bytes()
        # The raw header first: another test's mail to an address the strict header parser
        # cannot read (a fuzzed but accepted one) must not break this test's search.
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        if str(headers["To"]).strip().lower() != address.lower():
            continue
        message = email.message_from_bytes(raw, policy=policy.default)
        if about is not None and about.lower() not in str(message["Subject"]).lower():
            continue
        found.append(message)
    return found


def body_of(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(message: email.message.EmailMessage) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", body_of(message))
    assert match, body_of(message)
    return match.group(1)

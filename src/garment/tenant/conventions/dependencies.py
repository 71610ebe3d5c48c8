"""The conventions on the HTTP side, one line per route each:

    router = Router(prefix="/tenant/customers", route_class=ConventionRoute)

    async def create_customer(body: ..., member: CustomerManager, db: TenantSession,
                              idempotency: Idempotent, ...)      # Idempotency-Key
    async def update_customer(..., expected: IfMatch, response: Response)   # If-Match
        set_etag(response, customer.version)                                 # ETag

`Idempotent` claims the key before the handler runs (a duplicate waits there for the first
request's transaction, ADR 0013); `ConventionRoute` stores the finished response in the same
tenant transaction as the work, and answers a replay with the stored response.
Declare `idempotency` after the route's permission parameter, so the permission is checked
first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, Header, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from garment.platform.errors import IDEMPOTENCY_KEY_REUSED, AppError, ErrorSpec
from garment.platform.http.dependencies import app_services
from garment.platform.http.routing import CompiledRoute
from garment.platform.versioning import etag, parse_if_match
from garment.tenant.context import TenantSession, UsableTenantMember
from garment.tenant.conventions.errors import IDEMPOTENCY_IN_PROGRESS
from garment.tenant.conventions.service import (
    Entitlements,
    IdempotencyService,
    StoredResponse,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
CLAIM_SCOPE_KEY = "garment.idempotency_claim"
# The codes a route with `Idempotent` may answer in addition to its own.
IDEMPOTENCY_ERRORS: tuple[ErrorSpec, ...] = (IDEMPOTENCY_KEY_REUSED, IDEMPOTENCY_IN_PROGRESS)

IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="A key the client makes per operation (a UUID): repeating the request "
        "with the same key and body answers the first response again (kept 24 hours); the "
        "same key with another body is 422 IDEMPOTENCY_KEY_REUSED.",
    ),
]
# Typed `str` (not `str | None`): the document states a header as absent or a string, never as
# `null`, which a client would otherwise send as the text "null". Absent means None.
IfMatchHeader = Annotated[
    str,
    Header(
        alias="If-Match",
        max_length=64,
        description='The version this change is based on, as its `ETag` (`"3"`): a newer '
        "version on the server, or a value naming no version, answers 409 CONFLICT and "
        "changes nothing.",
    ),
]


class IdempotentReplay(Exception):
    """Raised by `Idempotent` to answer with a stored response (caught by ConventionRoute)."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("idempotent replay")
        self.stored = stored

    def response(self) -> Response:
        headers = {**self.stored.headers, REPLAYED_HEADER: "true"}
        return Response(content=self.stored.body, status_code=self.stored.status, headers=headers)


@dataclass(slots=True)
class IdempotencyClaim:
    """The key this request holds (or None: the client sent no key)."""

    key: str | None
    tenant_id: uuid.UUID
    session: AsyncSession
    service: IdempotencyService

    async def complete(self, response: Response) -> None:
        if self.key is None:
            return
        await self.service.complete(
            self.session,
            self.tenant_id,
            self.key,
            status=response.status_code,
            headers={name.lower(): value for name, value in response.headers.items()},
            body=bytes(response.body),
        )

    async def release(self) -> None:
        if self.key is not None:
            await self.service.release(self.session, self.tenant_id, self.key)


async def idempotency_claim(
    request: Request,
    member: UsableTenantMember,
    db: TenantSession,
    idempotency_key: IdempotencyKeyHeader = None,  # type: ignore[assignment]
) -> AsyncIterator[IdempotencyClaim]:
    service = cast(IdempotencyService, app_services(request).idempotency)
    claim = IdempotencyClaim(None, member.tenant_id, db, service)
    if idempotency_key is not None:
        if not isinstance(request.scope.get("route"), ConventionRoute):
            raise RuntimeError("a route with `Idempotent` needs route_class=ConventionRoute")
        body = await request.body()
        # The caller is part of "the same request": another member's identical call is a reuse.
        path = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
        stored = await service.claim(
            db,
            member.tenant_id,
            idempotency_key,
            method=request.method,
            path=f"{member.user_id}:{path}",
            body=body,
        )
        if stored is not None:
            raise IdempotentReplay(stored)
        claim.key = idempotency_key
        request.scope[CLAIM_SCOPE_KEY] = claim
    try:
        yield claim
    except AppError as error:
        if error.keep_changes:  # the transaction commits: free the key explicitly
            await claim.release()
        raise


Idempotent = Annotated[IdempotencyClaim, Depends(idempotency_claim, scope="function")]


class ConventionRoute(CompiledRoute):
    """The route class of tenant routers: stores an idempotent request's response before its
    transaction commits, and answers a replay with the stored response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except IdempotentReplay as replay:
                return replay.response()
            claim = cast(IdempotencyClaim | None, request.scope.get(CLAIM_SCOPE_KEY))
            if claim is not None:
                if 200 <= response.status_code < 300:
                    await claim.complete(response)
                else:
                    await claim.release()
            return response

        return run


async def if_match(if_match: IfMatchHeader = None) -> int | None:  # type: ignore[assignment]
    return parse_if_match(if_match)


# The version an update is based on (None when the client sent no If-Match).
IfMatch = Annotated[int | None, Depends(if_match)]


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def etag_response(
    status: int, description: str, *, location: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` entry of a route answering one versioned resource (`ETag`, and `Location`
    when it created it)."""
    headers: dict[str, Any] = {
        "ETag": {
            "description": "The resource's version, for If-Match.",
            "schema": {"type": "string"},
        }
    }
    if location is not None:
        headers["Location"] = {"description": location, "schema": {"type": "string"}}
    return {status: {"description": description, "headers": headers}}


async def entitlements_service(request: Request) -> Entitlements:
    return cast(Entitlements, app_services(request).entitlements)


EntitlementsDep = Annotated[Entitlements, Depends(entitlements_service)]

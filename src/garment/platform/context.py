"""Per-request (or per-job) context carried in context variables.

The request middleware fills it once; logs, errors and services read it without threading it
through every call. A job sets its own context, so nothing leaks between units of work.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from enum import StrEnum


class Locale(StrEnum):
    ID = "id"
    EN = "en"


DEFAULT_LOCALE = Locale.ID


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    locale: Locale = DEFAULT_LOCALE
    client_ip: str | None = None
    user_agent: str | None = None
    user_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    tenant_id: uuid.UUID | None = None


_current: ContextVar[RequestContext | None] = ContextVar("garment_request_context", default=None)


def current_context() -> RequestContext:
    """The context of the running request or job; a fresh anonymous one outside both."""
    context = _current.get()
    return context if context is not None else RequestContext()


def active_context() -> RequestContext | None:
    """The context if a request or job set one (logs outside both carry no request id)."""
    return _current.get()


def set_context(context: RequestContext) -> Token[RequestContext | None]:
    return _current.set(context)


def reset_context(token: Token[RequestContext | None]) -> None:
    _current.reset(token)


def update_context(**changes: object) -> RequestContext:
    """Record what a later step learned (the user, the tenant) for logs and errors."""
    context = replace(current_context(), **changes)  # type: ignore[arg-type]
    _current.set(context)
    return context


# The two updates every signed-in request makes, written out: `dataclasses.replace` inspects
# the fields on each call, a few per cent of a cached `/tenant/me`.
def identify_in_context(user_id: uuid.UUID, session_id: uuid.UUID) -> None:
    """Record the request's user and session for logs and errors."""
    now = current_context()
    _set_identity(now, user_id, session_id, now.tenant_id)


def enter_tenant_in_context(tenant_id: uuid.UUID) -> None:
    """Record the request's tenant for logs and errors."""
    now = current_context()
    _set_identity(now, now.user_id, now.session_id, tenant_id)


def _set_identity(
    now: RequestContext,
    user_id: uuid.UUID | None,
    session_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None,
) -> None:
    _current.set(
        RequestContext(
            request_id=now.request_id,
            locale=now.locale,
            client_ip=now.client_ip,
            user_agent=now.user_agent,
            user_id=user_id,
            session_id=session_id,
            tenant_id=tenant_id,
        )
    )


def parse_accept_language(header: str | None) -> Locale:
    """Pick `id` or `en` from an Accept-Language header by quality; Indonesian by default."""
    if not header:
        return DEFAULT_LOCALE
    best: tuple[float, Locale] | None = None
    for position, part in enumerate(header.split(",")):
        pieces = part.strip().split(";")
        language = pieces[0].strip().lower().split("-")[0]
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if language not in (Locale.ID.value, Locale.EN.value) or quality <= 0:
            continue
        # Earlier entries win ties, as browsers list preferences in order.
        score = quality - position * 1e-6
        if best is None or score > best[0]:
            best = (score, Locale(language))
    return best[1] if best else DEFAULT_LOCALE

"""The request context's written-out updates keep every field they do not change, so a field
added to `RequestContext` cannot be silently dropped by them (garment.platform.context)."""

from __future__ import annotations

import uuid
from dataclasses import fields
from typing import Any

from garment.platform.context import (
    Locale,
    RequestContext,
    current_context,
    enter_tenant_in_context,
    identify_in_context,
    reset_context,
    set_context,
)


def full_context() -> RequestContext:
    """A context with every field set to a value unlike its default."""
    values: dict[str, Any] = {}
    for item in fields(RequestContext):
        if item.name == "locale":
            values[item.name] = Locale.EN
        elif item.name.endswith("_id") and item.name != "request_id":
            values[item.name] = uuid.uuid4()
        else:
            values[item.name] = f"{item.name}-value"
    return RequestContext(**values)


def changed_fields(before: RequestContext, after: RequestContext) -> set[str]:
    return {
        f.name for f in fields(RequestContext) if getattr(before, f.name) != getattr(after, f.name)
    }


def test_identifying_the_user_changes_only_the_user_and_session() -> None:
    before = full_context()
    token = set_context(before)
    try:
        user_id, session_id = uuid.uuid4(), uuid.uuid4()
        identify_in_context(user_id, session_id)
        after = current_context()
    finally:
        reset_context(token)
    assert changed_fields(before, after) == {"user_id", "session_id"}
    assert (after.user_id, after.session_id) == (user_id, session_id)


def test_entering_a_tenant_changes_only_the_tenant() -> None:
    before = full_context()
    token = set_context(before)
    try:
        tenant_id = uuid.uuid4()
        enter_tenant_in_context(tenant_id)
        after = current_context()
    finally:
        reset_context(token)
    assert changed_fields(before, after) == {"tenant_id"}
    assert after.tenant_id == tenant_id

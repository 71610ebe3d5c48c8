"""Request constraints the OpenAPI document states but a schema class cannot hold by itself.

Some constraints come from configuration (the password policy's lengths) or from another
context (the plan codes, the tenant role keys). A field marks itself with `rule(name)`; the
composition root builds the document with each rule's JSON Schema keywords, read from the same
source the server validates against, so the document and the server cannot drift (ADR 0012).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

RULE_KEY = "x-rule"
# Patterns name their characters instead of using `\s`: regex engines disagree on what `\s`
# covers (U+0085 is whitespace to Rust and Python, not to JavaScript), and the document must
# mean the same to every client as to the server.
ASCII_SPACE = r"\t\n\v\f\r "
# Text people type (names): no surrounding ASCII space, at least one other character. Front ends
# trim before sending; the server stores what it receives.
TRIMMED_TEXT = rf"^[^{ASCII_SPACE}\x00](?:[^\x00]*[^{ASCII_SPACE}\x00])?$"


def rule(name: str) -> dict[str, Any]:
    """`json_schema_extra` of a field whose constraints the composition root fills in."""
    return {RULE_KEY: name}


# No request string may hold U+0000: PostgreSQL text cannot store it, so the server refuses it
# everywhere (`RequestBody`, and the database for query strings); the OpenAPI document says so
# on every request string that has no stricter pattern of its own.
NO_NUL = r"^[^\x00]*$"
# An email address as the server accepts it: no space, no control character, one `@`, a domain
# of at least two non-empty labels. Deliverability is proved by the verification mail, not here.
EMAIL_PATTERN = r"^[^@ \x00-\x1f\x7f]{1,64}@[^@ \x00-\x1f\x7f.]+(?:\.[^@ \x00-\x1f\x7f.]+)+$"

Email = Annotated[
    str,
    StringConstraints(max_length=254, pattern=EMAIL_PATTERN),
    Field(examples=["sari@konveksi.id"]),
]


RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _rfc3339_text(value: Any) -> Any:
    """Only the text of an RFC 3339 date-time (`format: date-time`), offset included: pydantic
    alone would also take a Unix timestamp (`0.5`) or a date without a time."""
    if not isinstance(value, str) or not RFC3339.match(value):
        raise ValueError("an RFC 3339 date-time with its offset, e.g. 2026-12-01T08:00:00+07:00")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
    elif isinstance(value, list | tuple | set):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_nul(item)
    return value


class RequestBody(BaseModel):
    """Base of every JSON request body: unknown members are refused (a typo is an error, not
    ignored), and no string may hold U+0000."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _refuse_nul(value)

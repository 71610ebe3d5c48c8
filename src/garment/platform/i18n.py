"""User-facing text in Indonesian and English, chosen by the request's locale.

Every sentence a user may read is a `Message` with both languages, declared once as a constant
next to the rule that needs it (a context's `errors.py`), so no service or router writes inline
text and a test can check that both languages exist:

    SLUG_TAKEN = Message("Alamat ini sudah dipakai.", "This slug is taken.")
    problems.add("body.slug", SLUG_TAKEN)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from garment.platform.context import Locale, current_context


@dataclass(frozen=True, slots=True)
class Message:
    """One sentence in both languages; `{name}` placeholders are filled by `render`."""

    id: str
    en: str

    def render(self, locale: Locale | None = None, **params: Any) -> str:
        chosen = locale or current_context().locale
        template = self.id if chosen is Locale.ID else self.en
        return template.format(**params) if params else template

    def __str__(self) -> str:
        return self.render()

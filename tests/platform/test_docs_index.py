"""The guide's indexes list what exists: every ADR file appears in chapter 11 and in the ADR
index, so a new decision cannot be recorded without its one-line summary."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def adr_files() -> list[str]:
    return sorted(path.name for path in (DOCS / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))


def test_every_adr_is_in_chapter_11_and_the_adr_index() -> None:
    chapter = (DOCS / "11-architecture-decisions.md").read_text(encoding="utf-8")
    index = (DOCS / "adr" / "README.md").read_text(encoding="utf-8")
    files = adr_files()
    assert files, "no ADRs found"
    missing = [name for name in files if f"adr/{name}" not in chapter or f"({name})" not in index]
    assert missing == [], f"add these ADRs to docs/11 and docs/adr/README.md: {missing}"

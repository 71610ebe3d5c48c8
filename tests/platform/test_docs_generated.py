"""Generated chapters of docs/ are current (the same check `make test` runs)."""

from __future__ import annotations

from pathlib import Path

from garment.docsgen import generated_documents, stale_documents

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_generated_docs_are_current() -> None:
    assert stale_documents(DOCS) == [], "run `garment docs generate` and commit"


def test_stale_document_is_detected(tmp_path: Path) -> None:
    for path, content in generated_documents(tmp_path).items():
        path.write_text(content, encoding="utf-8")
    assert stale_documents(tmp_path) == []
    (tmp_path / "18-config-reference.md").write_text("old", encoding="utf-8")
    assert stale_documents(tmp_path) == [tmp_path / "18-config-reference.md"]

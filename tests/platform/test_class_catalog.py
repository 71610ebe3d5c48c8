"""Chapter 13 (the class catalogue) is read from the source: contexts found on disk, modules by
file role, public classes with their docstring's first paragraph, what a service offers."""

from __future__ import annotations

from pathlib import Path

from garment.docsgen import class_catalog_markdown, class_catalog_sections

FILES = {
    "central/__init__.py": "",
    "central/shop/__init__.py": '"""Orders and their lines."""\n',
    "central/shop/service.py": (
        '"""Rules of the shop."""\n\n\n'
        "class OrderService:\n"
        '    """Places orders.\n\n    Long explanation.\n    """\n\n'
        "    def __init__(self) -> None:\n"
        "        self.repo = 1\n"
        "        self._hidden = 2\n\n"
        "    async def place(self) -> None: ...\n\n"
        "    def _private(self) -> None: ...\n\n\n"
        "class _Internal: ...\n"
    ),
    "central/shop/models.py": 'class Order:\n    """An order | with a pipe,\n    wrapped."""\n',
    "central/shop/keys.py": "X = 1\n",
    "tenant/__init__.py": "",
    "tenant/context.py": "class TenantMember: ...\n",
    "tenant/stock/router.py": "class StockOut: ...\n",
    "platform/__init__.py": "",
    "platform/db.py": "class Database: ...\n",
}


def write_package(root: Path) -> Path:
    for relative, source in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return root


def test_sections_roles_classes_and_methods(tmp_path: Path) -> None:
    sections = class_catalog_sections(write_package(tmp_path))
    assert [s.title for s in sections] == [
        "central.shop",
        "tenant.context",
        "tenant.stock",
        "platform",
    ]
    shop = sections[0]
    assert shop.description == "Orders and their lines."
    assert [(m.path, m.role) for m in shop.modules] == [
        ("central/shop/models.py", "models"),
        ("central/shop/service.py", "service"),
        ("central/shop/keys.py", "others"),
    ]
    models, service, keys = shop.modules
    assert models.classes[0].summary == "An order \\| with a pipe, wrapped."
    assert models.classes[0].methods is None
    (order_service,) = service.classes
    assert order_service.summary == "Places orders."
    assert order_service.methods == ("place",)
    assert order_service.attributes == ("repo",)
    assert keys.classes == ()


def test_markdown_is_deterministic_and_lists_what_a_service_offers(tmp_path: Path) -> None:
    package = write_package(tmp_path)
    text = class_catalog_markdown(package)
    assert text == class_catalog_markdown(package)
    assert "| `OrderService` | Places orders. |" in text
    assert "- `OrderService`: methods `place`; attributes `repo`" in text
    assert "| `TenantMember` | \u2014 |" in text
    assert "(no public classes)" in text
    assert "_Internal" not in text

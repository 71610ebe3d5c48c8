"""The import lint works: on a small fake package it reports one deliberate violation per rule,
with the right rule id, module and line, and nothing on the clean tree.

The fake package `shop` is checked with `GARMENT_RULES` itself (only the package name and the
exceptions differ), so these tests prove the rules the real tree is held to.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.lint.importgraph import (
    CONTEXT_IMPORTS_COMPOSITION,
    CONTEXT_INTERNAL,
    IMPORT_CYCLE,
    PLATFORM_IMPORTS_CONTEXT,
    QUERY_OUTSIDE_REPOSITORY,
    ROUTER_HOLDS_RULES,
    RULES,
    SERVICE_IMPORTS_HTTP,
    STALE_EXCEPTION,
    Allowance,
    ImportRef,
    Layout,
    RuleSet,
    Violation,
    check_package,
    report,
    scan_package,
)
from tests.lint.test_import_rules import GARMENT_RULES

SHOP_RULES = replace(GARMENT_RULES, package="shop", exceptions=())

# A package that follows every rule: one central context (`orders`) and two tenant contexts,
# `catalog` (a package) and `stock` (a directory without `__init__.py`, discovered all the same).
CLEAN: dict[str, str] = {
    "__init__.py": "",
    "__main__.py": "from shop.cli import main\n",
    "config.py": "SETTINGS: dict[str, str] = {}\n",
    "runtime.py": "from shop.config import SETTINGS\nfrom shop.platform.db import Database\n",
    "app.py": (
        "from shop.central.orders.router import router\n"
        "from shop.runtime import Runtime\n"
        "from shop.tenant.catalog.router import router as catalog_router\n"
    ),
    "models.py": "def metadata() -> None:\n    import shop.central.orders.models\n",
    "cli/__init__.py": "from shop.runtime import Runtime\n\n\ndef main() -> None: ...\n",
    "platform/__init__.py": "",
    "platform/db.py": "from shop.config import SETTINGS\n\n\nclass Database: ...\n",
    "platform/context.py": "LOCALE = 'id'\n",
    "platform/http/__init__.py": "from ..db import Database\n",
    "central/__init__.py": "",
    "central/orders/__init__.py": "",
    "central/orders/models.py": (
        "from sqlalchemy import String, select\nfrom sqlalchemy.orm import Mapped\n"
    ),
    "central/orders/repository.py": (
        "from sqlalchemy import select\nfrom sqlalchemy.dialects.postgresql import insert\n"
        "from .models import Order\n"
    ),
    "central/orders/errors.py": "from shop.platform.db import Database\n",
    "central/orders/events.py": "class OrderPlaced: ...\n",
    "central/orders/schemas.py": "from fastapi import Query\nfrom pydantic import BaseModel\n",
    "central/orders/dependencies.py": (
        "from fastapi import Depends\nfrom sqlalchemy.ext.asyncio import AsyncSession\n"
    ),
    "central/orders/service.py": (
        "from typing import TYPE_CHECKING\n"
        "from sqlalchemy import exc\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "from shop.platform.db import Database\n"
        "from . import repository\n"
        "from .events import OrderPlaced\n"
        "if TYPE_CHECKING:\n"
        "    from shop.platform.http import Database as Db\n"
    ),
    "central/orders/router.py": (
        "from fastapi import APIRouter\n"
        "from shop.central.orders import service\n"
        "from shop.central.orders.dependencies import Session\n"
        "from shop.central.orders.schemas import OrderOut\n"
    ),
    "tenant/__init__.py": "",
    "tenant/context.py": (
        "from fastapi import Depends\n"
        "from sqlalchemy import select\n"
        "from shop.central.orders import errors\n"
        "from shop.central.orders.service import find_order\n"
        "from shop.central.orders.dependencies import Session\n"
    ),
    "tenant/catalog/__init__.py": "",
    "tenant/catalog/service.py": (
        "from shop.central.orders.service import find_order\n"
        "from shop.central.orders import schemas\n"
        "from shop.tenant.context import TenantSession\n"
    ),
    "tenant/catalog/router.py": (
        "from starlette.responses import Response\n"
        "from shop.tenant.context import RequirePermission\n"
        "from shop.tenant.catalog.service import list_products\n"
    ),
    "tenant/stock/service.py": "from shop.tenant.catalog.service import list_products\n",
}


@dataclass(frozen=True)
class Case:
    """Append `code` to the file `path` of the clean tree; expect exactly this violation."""

    id: str
    path: str
    code: str
    rule: str
    importer: str
    imported: str
    marker: str  # the text of the offending import line, to find its line number


CASES = [
    Case(
        "platform-under-type-checking",
        "platform/db.py",
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from shop.central.orders.events import OrderPlaced\n",
        PLATFORM_IMPORTS_CONTEXT,
        "shop.platform.db",
        "shop.central.orders.events",
        "from shop.central.orders.events",
    ),
    Case(
        "platform-imports-composition",
        "platform/http/__init__.py",
        "def app() -> None:\n    from ...runtime import Runtime\n",
        PLATFORM_IMPORTS_CONTEXT,
        "shop.platform.http",
        "shop.runtime",
        "from ...runtime",
    ),
    Case(
        "models-of-another-context-in-a-function",
        "tenant/catalog/service.py",
        "def total() -> None:\n    from shop.central.orders.models import Order\n",
        CONTEXT_INTERNAL,
        "shop.tenant.catalog.service",
        "shop.central.orders.models",
        "from shop.central.orders.models",
    ),
    Case(
        "chain-imports-a-repository-module-by-name",
        "tenant/context.py",
        "from shop.central.orders import errors, repository\n",
        CONTEXT_INTERNAL,
        "shop.tenant.context",
        "shop.central.orders.repository",
        "errors, repository",
    ),
    Case(
        "undiscovered-context-is-still-checked",
        "tenant/stock/service.py",
        "import shop.tenant.catalog.router\n",
        CONTEXT_INTERNAL,
        "shop.tenant.stock.service",
        "shop.tenant.catalog.router",
        "import shop.tenant.catalog.router",
    ),
    Case(
        "runtime-under-type-checking",
        "central/orders/service.py",
        "if TYPE_CHECKING:\n    from shop.runtime import Runtime\n",
        CONTEXT_IMPORTS_COMPOSITION,
        "shop.central.orders.service",
        "shop.runtime",
        "from shop.runtime",
    ),
    Case(
        "chain-imports-the-metadata-aggregator",
        "tenant/context.py",
        "import shop.models as all_models\n",
        CONTEXT_IMPORTS_COMPOSITION,
        "shop.tenant.context",
        "shop.models",
        "import shop.models",
    ),
    Case(
        "cycle-through-a-function-import",
        "central/orders/events.py",
        "def on_placed() -> None:\n    from .service import place\n",
        IMPORT_CYCLE,
        "shop.central.orders.events",
        "shop.central.orders.service",
        "from .service import place",
    ),
    Case(
        "router-takes-the-session-type",
        "central/orders/router.py",
        "from sqlalchemy.ext.asyncio import AsyncSession\n",
        ROUTER_HOLDS_RULES,
        "shop.central.orders.router",
        "sqlalchemy.ext.asyncio",
        "from sqlalchemy.ext.asyncio",
    ),
    Case(
        "router-localizes-messages",
        "tenant/catalog/router.py",
        "from shop.platform import context\n",
        ROUTER_HOLDS_RULES,
        "shop.tenant.catalog.router",
        "shop.platform.context",
        "from shop.platform import context",
    ),
    Case(
        "service-raises-http",
        "central/orders/service.py",
        "from fastapi import HTTPException\n",
        SERVICE_IMPORTS_HTTP,
        "shop.central.orders.service",
        "fastapi",
        "from fastapi",
    ),
    Case(
        "package-init-uses-starlette",
        "tenant/catalog/__init__.py",
        "import starlette.status\n",
        SERVICE_IMPORTS_HTTP,
        "shop.tenant.catalog",
        "starlette.status",
        "import starlette",
    ),
    Case(
        "service-builds-a-query",
        "central/orders/service.py",
        "from sqlalchemy import exc as sa_exc, select\n",
        QUERY_OUTSIDE_REPOSITORY,
        "shop.central.orders.service",
        "sqlalchemy",
        "import exc as sa_exc, select",
    ),
    Case(
        "listener-uses-the-orm",
        "tenant/catalog/listeners.py",
        "class Listener:\n"
        "    def run(self) -> None:\n"
        "        from sqlalchemy.orm import selectinload\n",
        QUERY_OUTSIDE_REPOSITORY,
        "shop.tenant.catalog.listeners",
        "sqlalchemy.orm",
        "from sqlalchemy.orm",
    ),
]


def write_tree(root: Path, files: dict[str, str]) -> Path:
    package = root / "shop"
    for relative, source in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return package


def with_case(case: Case) -> dict[str, str]:
    files = dict(CLEAN)
    files[case.path] = files.get(case.path, "") + case.code
    return files


def line_of(files: dict[str, str], case: Case) -> int:
    lines = files[case.path].splitlines()
    return next(number for number, text in enumerate(lines, 1) if case.marker in text)


def test_clean_tree_reports_nothing(tmp_path: Path) -> None:
    violations = check_package(write_tree(tmp_path, CLEAN), SHOP_RULES)
    assert violations == [], report(violations)


def test_contexts_are_discovered_from_the_tree(tmp_path: Path) -> None:
    package = write_tree(tmp_path, CLEAN)
    layout = Layout.discover(scan_package(package, "shop"), SHOP_RULES)
    assert layout.contexts == ("shop.central.orders", "shop.tenant.catalog", "shop.tenant.stock")
    assert layout.place("shop.tenant.context").kind == "shared"
    assert layout.place("shop.central.orders.repository").inner == "repository"


def test_every_rule_has_a_case() -> None:
    assert {case.rule for case in CASES} == set(RULES) - {STALE_EXCEPTION}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_violation_is_reported_with_its_rule(tmp_path: Path, case: Case) -> None:
    files = with_case(case)
    violations = check_package(write_tree(tmp_path, files), SHOP_RULES)
    expected = (case.rule, case.importer, line_of(files, case), case.imported)
    found = [(v.rule, v.importer, v.line, v.imported) for v in violations]
    assert found == [expected], report(violations)
    assert "\n" not in str(violations[0])


def test_all_cases_at_once_are_each_reported(tmp_path: Path) -> None:
    files = dict(CLEAN)
    for case in CASES:
        files[case.path] = files.get(case.path, "") + case.code
    violations = check_package(write_tree(tmp_path, files), SHOP_RULES)
    expected = {(case.rule, case.importer, case.imported) for case in CASES}
    assert {(v.rule, v.importer, v.imported) for v in violations} == expected, report(violations)


def test_exception_allows_a_violation_and_is_stale_once_fixed(tmp_path: Path) -> None:
    case = next(case for case in CASES if case.rule == CONTEXT_INTERNAL)
    allowance = Allowance(CONTEXT_INTERNAL, case.importer, case.imported, "a reason")
    rules = replace(SHOP_RULES, exceptions=(allowance,))

    assert check_package(write_tree(tmp_path / "broken", with_case(case)), rules) == []

    fixed = check_package(write_tree(tmp_path / "fixed", CLEAN), rules)
    assert [(v.rule, v.importer, v.imported) for v in fixed] == [
        (STALE_EXCEPTION, case.importer, case.imported)
    ]
    assert "a reason" in fixed[0].explanation


def test_exception_needs_a_one_line_reason() -> None:
    with pytest.raises(ValueError, match="one-line reason"):
        Allowance(CONTEXT_INTERNAL, "shop.a", None, " ")
    with pytest.raises(ValueError, match="one-line reason"):
        Allowance(CONTEXT_INTERNAL, "shop.a", None, "first\nsecond")
    with pytest.raises(ValueError, match="unknown rule"):
        Allowance("no-such-rule", "shop.a", None, "why")


def test_cycle_is_reported_once_as_a_chain_with_lines(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "import shop.b\n",
        "b.py": "\nfrom shop import c\n",
        "c.py": "\n\ndef f() -> None:\n    from . import a\n    import shop.d\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import shop.b\n",
    }
    rules = replace(SHOP_RULES, context_parents=())
    violations = check_package(write_tree(tmp_path, files), rules)
    assert len(violations) == 1, report(violations)
    cycle = violations[0]
    assert (cycle.rule, cycle.importer, cycle.line, cycle.imported) == (
        IMPORT_CYCLE,
        "shop.a",
        1,
        "shop.b",
    )
    assert "shop.a:1 -> shop.b:2 -> shop.c:4 (inside f) -> shop.a" in cycle.explanation
    assert cycle.explanation.endswith("also holds shop.d")


def test_importing_a_submodule_adds_no_edge_to_its_packages(tmp_path: Path) -> None:
    files = {
        "__init__.py": "import shop.x.y\n",
        "x/__init__.py": "",
        "x/y.py": "import shop.x.z\n",
        "x/z.py": "",
    }
    rules = replace(SHOP_RULES, context_parents=())
    assert check_package(write_tree(tmp_path, files), rules) == []


def test_the_graph_records_every_kind_of_import(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """\
        import os.path
        from typing import TYPE_CHECKING

        from . import repository, helper_name
        from .models import Order

        if TYPE_CHECKING:
            from shop.runtime import Runtime
        else:
            Runtime = None


        class Service:
            def run(self) -> None:
                from sqlalchemy import select
        """
    )
    package = write_tree(tmp_path, {**CLEAN, "central/orders/service.py": source})
    module = scan_package(package, "shop")["shop.central.orders.service"]
    assert module.file_role == "service"
    assert module.internal == (
        ImportRef("shop.central.orders", "helper_name", 4, False, None),
        ImportRef("shop.central.orders.repository", None, 4, False, None),
        ImportRef("shop.central.orders.models", "Order", 5, False, None),
        ImportRef("shop.runtime", "Runtime", 8, True, None),
    )
    assert module.external == (
        ImportRef("os.path", None, 1, False, None),
        ImportRef("typing", "TYPE_CHECKING", 2, False, None),
        ImportRef("sqlalchemy", "select", 15, False, "Service.run"),
    )


def test_the_package_directory_must_match_the_rules(tmp_path: Path) -> None:
    other: RuleSet = replace(SHOP_RULES, package="garment")
    with pytest.raises(ValueError, match="is not the package"):
        check_package(write_tree(tmp_path, CLEAN), other)


def test_violation_reads_as_one_line() -> None:
    violation = Violation(CONTEXT_INTERNAL, "shop.a", 3, "shop.b.models", "why")
    assert str(violation) == "[context-internal] shop.a:3 -> shop.b.models: why"
    assert report([violation]).splitlines() == [
        f"== [context-internal] {RULES[CONTEXT_INTERNAL]}",
        "  [context-internal] shop.a:3 -> shop.b.models: why",
    ]

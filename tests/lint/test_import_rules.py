"""The import rules of chapter 02 hold for `src/garment` (spec 06 §11: project lints are code).

`GARMENT_RULES` below is the whole definition of the layers; `tests/lint/importgraph.py` only
applies it. The test fails with every violation, one per line, grouped by rule. To fix one, move
the code behind a public module, a port or a parameter; only when that is truly wrong, add an
`Allowance` to `EXCEPTIONS` with a one-line reason (an allowance that stops matching fails the
test as `stale-exception`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lint.importgraph import Allowance, RuleSet, check_package, report

SOURCE = Path(__file__).resolve().parents[2] / "src" / "garment"

# Documented exceptions: `Allowance(rule, importer, imported or None, "one-line reason")`.
# Empty: nothing in the tree needs one. Add one only when the rule is truly wrong for that import;
# an allowance that stops matching fails the test as `stale-exception`.
EXCEPTIONS: tuple[Allowance, ...] = ()

GARMENT_RULES = RuleSet(
    package="garment",
    # Contexts: every direct subpackage of these, found on disk (central.auth, central.tenancy,
    # central.clusters, central.billing, tenant.authz, ...). New ones join automatically.
    context_parents=("central", "tenant"),
    # The tenant context chain: shared infrastructure of the tenant contexts, not a context. It
    # is held to the cross-context rules (only public modules of contexts, no composition layer).
    shared_context_modules=("tenant.context",),
    # Platform: shared infrastructure; it may import only itself and what is below it.
    platform="platform",
    below_platform=("config",),
    # The composition and entry layers: they may import anything, and no context imports them.
    # `models` is the metadata aggregator (every context's tables).
    composition=("runtime", "app", "cli", "contexts", "models", "docsgen", "demo", "__main__"),
    # What another context may import: these modules and the package ("") itself. Everything
    # else in a context (models, repository, keys, sessions, component, ...) is internal.
    # `states` holds a context's status enums and their transition tables (values other
    # contexts compare against, never rows they could change).
    public_modules=frozenset(
        {"", "service", "schemas", "errors", "events", "dependencies", "ports", "states"}
    ),
    # router.py: HTTP only. Queries belong in repositories (sessions come from dependencies),
    # localized messages in services and error specs.
    router_module="router",
    router_forbidden_external=("sqlalchemy",),
    router_forbidden_internal=("platform.context",),
    # The HTTP framework, and the file roles of a context that may import it.
    http_packages=("fastapi", "starlette"),
    http_modules=frozenset({"router", "dependencies", "schemas"}),
    # Query builders: all of sqlalchemy but the session type and the exceptions, and the file
    # roles of a context that may import them.
    query_packages=("sqlalchemy",),
    query_allowed=("sqlalchemy.ext.asyncio", "sqlalchemy.exc"),
    query_modules=frozenset({"repository", "models"}),
    exceptions=EXCEPTIONS,
)


def test_source_follows_the_import_rules() -> None:
    violations = check_package(SOURCE, GARMENT_RULES)
    if violations:
        pytest.fail(
            f"{len(violations)} import rule violation(s) in src/garment (chapter 02):\n"
            + report(violations),
            pytrace=False,
        )

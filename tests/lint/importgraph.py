"""The static import graph of one package, and the import rules of chapter 02 checked over it.

`check_package(package_dir, rules)` is pure: it reads every `.py` file under `package_dir` with
`ast` (nothing is imported or executed) and returns the violations, sorted. The package's
layers and contexts come from the `RuleSet` passed in, so the same checker runs on the real
`src/garment` (`test_import_rules.py`) and on small fake trees
(`test_import_lint_catches_violations.py`).

Every import statement counts: module level, inside functions and classes, and under
`if TYPE_CHECKING:`. Relative imports are resolved against the importing module.
`from pkg import name` resolves to the module `pkg.name` when that is a module (file or package)
of the checked package, otherwise to `pkg`. Imports of other distributions (`sqlalchemy`,
`fastapi`, the standard library) are kept per module as `external` references, so rules can check
them too. The graph's edges are exactly the explicit imports: importing `a.b.c` adds no edge to
the package modules `a` and `a.b`.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

PLATFORM_IMPORTS_CONTEXT = "platform-imports-context"
CONTEXT_INTERNAL = "context-internal"
CONTEXT_IMPORTS_COMPOSITION = "context-imports-composition"
IMPORT_CYCLE = "import-cycle"
ROUTER_HOLDS_RULES = "router-holds-rules"
SERVICE_IMPORTS_HTTP = "service-imports-http"
QUERY_OUTSIDE_REPOSITORY = "query-outside-repository"
STALE_EXCEPTION = "stale-exception"

RULES: Mapping[str, str] = {
    PLATFORM_IMPORTS_CONTEXT: "platform imports only platform and the below-platform modules",
    CONTEXT_INTERNAL: "a context imports only the public modules of another context",
    CONTEXT_IMPORTS_COMPOSITION: "a context never imports the composition/entry layer",
    IMPORT_CYCLE: "the module graph has no cycle (every import counts)",
    ROUTER_HOLDS_RULES: "a router does HTTP only: no sqlalchemy, no localized messages",
    SERVICE_IMPORTS_HTTP: "only routers, dependencies and schemas import the HTTP framework",
    QUERY_OUTSIDE_REPOSITORY: "query builders are imported only by repositories and models",
    STALE_EXCEPTION: "every documented exception still matches a violation",
}


# --------------------------------------------------------------------------------------------
# The graph


@dataclass(frozen=True)
class ImportRef:
    """One imported module or name, as written in one import statement.

    `from m import a, b` gives one reference per name. `target` is the resolved module;
    `name` is what was taken from it (`None` for `import target`, and for `from pkg import mod`
    resolved to the module `pkg.mod`).
    """

    target: str
    name: str | None
    line: int
    type_checking: bool
    scope: str | None  # the enclosing function or class (qualified), None at module level

    @property
    def qualified(self) -> str:
        return self.target if self.name is None else f"{self.target}.{self.name}"

    def context_note(self) -> str:
        """Where the import sits, when that is not plain module level: ' (under TYPE_CHECKING)'."""
        notes = []
        if self.type_checking:
            notes.append("under TYPE_CHECKING")
        if self.scope is not None:
            notes.append(f"inside {self.scope}")
        return f" ({', '.join(notes)})" if notes else ""


@dataclass(frozen=True)
class ModuleInfo:
    name: str
    path: Path
    is_package: bool
    internal: tuple[ImportRef, ...]  # imports of modules of the checked package
    external: tuple[ImportRef, ...]  # everything else (third-party and standard library)

    @property
    def file_role(self) -> str:
        """The file name without `.py`: `service`, `router`, ... (`__init__` for a package)."""
        return self.path.stem


def module_name(package_dir: Path, package: str, path: Path) -> str:
    parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(package_dir: Path) -> list[Path]:
    return sorted(
        path
        for path in package_dir.rglob("*.py")
        if "__pycache__" not in path.relative_to(package_dir).parts
    )


def within(name: str, prefix: str) -> bool:
    """`name` is the module `prefix` or one below it."""
    return name == prefix or name.startswith(prefix + ".")


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, package: str, known: frozenset[str]) -> None:
        self.module = module
        self.is_package = is_package
        self.package = package
        self.known = known
        self.refs: list[ImportRef] = []
        self._scope: list[str] = []
        self._type_checking = 0

    def _add(self, target: str, name: str | None, line: int) -> None:
        scope = ".".join(self._scope) or None
        self.refs.append(ImportRef(target, name, line, self._type_checking > 0, scope))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self._type_checking += 1
        for statement in node.body:
            self.visit(statement)
        self._type_checking -= 1
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, None, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._absolute(node)
        internal = within(base, self.package)
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            if internal and submodule in self.known:
                self._add(submodule, None, node.lineno)
            else:
                self._add(base, None if alias.name == "*" else alias.name, node.lineno)

    def _absolute(self, node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        parts = self.module.split(".")
        if not self.is_package:
            parts.pop()  # a module's relative imports start from its package
        drop = node.level - 1
        if drop >= len(parts):
            raise ValueError(f"{self.module}:{node.lineno}: relative import beyond the package")
        parts = parts[: len(parts) - drop]
        if node.module:
            parts.append(node.module)
        return ".".join(parts)


def scan_package(package_dir: Path, package: str) -> dict[str, ModuleInfo]:
    """Every module under `package_dir` (the directory of the package `package`) and its imports."""
    files = python_files(package_dir)
    names = {path: module_name(package_dir, package, path) for path in files}
    known = frozenset(names.values())
    modules: dict[str, ModuleInfo] = {}
    for path in files:
        name = names[path]
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        collector = _ImportCollector(name, is_package, package, known)
        collector.visit(tree)
        refs = sorted(collector.refs, key=lambda ref: (ref.line, ref.qualified))
        modules[name] = ModuleInfo(
            name=name,
            path=path,
            is_package=is_package,
            internal=tuple(ref for ref in refs if within(ref.target, package)),
            external=tuple(ref for ref in refs if not within(ref.target, package)),
        )
    return modules


def import_graph(modules: Mapping[str, ModuleInfo]) -> dict[str, dict[str, ImportRef]]:
    """module -> imported module -> its first import there (existing modules, no self-edges)."""
    graph: dict[str, dict[str, ImportRef]] = {name: {} for name in modules}
    for name, info in modules.items():
        for ref in info.internal:
            if ref.target in modules and ref.target != name:
                graph[name].setdefault(ref.target, ref)
    return graph


# --------------------------------------------------------------------------------------------
# Rules


@dataclass(frozen=True, order=True)
class Violation:
    rule: str
    importer: str
    line: int
    imported: str
    explanation: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.importer}:{self.line} -> {self.imported}: {self.explanation}"


@dataclass(frozen=True)
class Allowance:
    """A documented exception: `importer` may break `rule` by importing `imported`.

    `imported=None` allows every import of `importer` that breaks `rule`. An allowance that no
    longer matches any violation is reported as `stale-exception`, so the list only shrinks
    when the code is fixed.
    """

    rule: str
    importer: str
    imported: str | None
    reason: str

    def __post_init__(self) -> None:
        if self.rule not in RULES or self.rule == STALE_EXCEPTION:
            raise ValueError(f"unknown rule {self.rule!r} in an exception for {self.importer}")
        if not self.reason.strip() or "\n" in self.reason:
            raise ValueError(f"the exception for {self.importer} needs a one-line reason")

    def matches(self, violation: Violation) -> bool:
        return (
            violation.rule == self.rule
            and violation.importer == self.importer
            and (self.imported is None or violation.imported == self.imported)
        )


@dataclass(frozen=True)
class RuleSet:
    """What the layers of a package are. Module names are relative to `package`.

    A context is every direct subdirectory of a `context_parents` package that holds Python
    files, discovered from the tree, so a new context is checked without changing the rules.
    """

    package: str
    context_parents: tuple[str, ...]
    shared_context_modules: tuple[str, ...]  # held to the context rules, but not a context
    platform: str
    below_platform: tuple[str, ...]  # anything may import these
    composition: tuple[str, ...]  # entry points and composition roots
    public_modules: frozenset[str]  # what another context may import ("" is the package)
    router_module: str
    router_forbidden_external: tuple[str, ...]
    router_forbidden_internal: tuple[str, ...]
    http_packages: tuple[str, ...]
    http_modules: frozenset[str]  # file roles of a context that may import `http_packages`
    query_packages: tuple[str, ...]
    query_allowed: tuple[str, ...]  # parts of `query_packages` that any context module may use
    query_modules: frozenset[str]  # file roles of a context that may build queries
    exceptions: tuple[Allowance, ...] = ()

    def full(self, relative: str) -> str:
        return self.package if relative == "" else f"{self.package}.{relative}"


@dataclass(frozen=True)
class Place:
    """Where a module sits; `kind` is one of context, shared, platform, below-platform,
    composition, other."""

    kind: str
    context: str | None = None  # the context package, for kind == "context"
    inner: str = ""  # the module's path inside its context ("" for the context package)


@dataclass(frozen=True)
class Layout:
    rules: RuleSet
    contexts: tuple[str, ...]

    @classmethod
    def discover(cls, modules: Mapping[str, ModuleInfo], rules: RuleSet) -> Layout:
        shared = [rules.full(name) for name in rules.shared_context_modules]
        found: set[str] = set()
        for parent in map(rules.full, rules.context_parents):
            for name, info in modules.items():
                if not name.startswith(parent + "."):
                    continue
                rest = name[len(parent) + 1 :].split(".")
                if len(rest) > 1 or info.is_package:  # rest[0] is a directory
                    context = f"{parent}.{rest[0]}"
                    if not any(within(context, module) for module in shared):
                        found.add(context)
        return cls(rules, tuple(sorted(found)))

    def place(self, module: str) -> Place:
        rules = self.rules
        if any(within(module, rules.full(name)) for name in rules.shared_context_modules):
            return Place("shared")
        for context in self.contexts:
            if within(module, context):
                return Place("context", context, module[len(context) + 1 :])
        if within(module, rules.full(rules.platform)):
            return Place("platform")
        if any(within(module, rules.full(name)) for name in rules.below_platform):
            return Place("below-platform")
        if any(within(module, rules.full(name)) for name in rules.composition):
            return Place("composition")
        return Place("other")


def check_package(package_dir: Path, rules: RuleSet) -> list[Violation]:
    """Every violation of `rules` in the package at `package_dir`, sorted by rule and module."""
    if package_dir.name != rules.package:
        raise ValueError(f"{package_dir} is not the package {rules.package!r}")
    modules = scan_package(package_dir, rules.package)
    return check_modules(modules, rules)


def check_modules(modules: Mapping[str, ModuleInfo], rules: RuleSet) -> list[Violation]:
    layout = Layout.discover(modules, rules)
    found = set(_import_violations(modules, layout))
    found.update(_cycle_violations(import_graph(modules)))
    kept = {v for v in found if not any(allowance.matches(v) for allowance in rules.exceptions)}
    for allowance in rules.exceptions:
        if not any(allowance.matches(v) for v in found):
            kept.add(
                Violation(
                    STALE_EXCEPTION,
                    allowance.importer,
                    0,
                    allowance.imported or "*",
                    f"the exception for [{allowance.rule}] matches nothing any more; remove it "
                    f"(its reason was: {allowance.reason})",
                )
            )
    return sorted(kept)


def _import_violations(modules: Mapping[str, ModuleInfo], layout: Layout) -> Iterator[Violation]:
    for info in modules.values():
        place = layout.place(info.name)
        if place.kind == "platform":
            yield from _platform_rules(info, layout)
        elif place.kind in ("context", "shared"):
            yield from _context_rules(info, place, layout)


def _platform_rules(info: ModuleInfo, layout: Layout) -> Iterator[Violation]:
    rules = layout.rules
    for ref in info.internal:
        if layout.place(ref.target).kind not in ("platform", "below-platform"):
            allowed = ", ".join(map(rules.full, (rules.platform, *rules.below_platform)))
            yield Violation(
                PLATFORM_IMPORTS_CONTEXT,
                info.name,
                ref.line,
                ref.target,
                f"platform may import only {allowed}{ref.context_note()}",
            )


def _context_rules(info: ModuleInfo, place: Place, layout: Layout) -> Iterator[Violation]:
    rules = layout.rules
    role = info.file_role
    for ref in info.internal:
        target = layout.place(ref.target)
        if (
            target.kind == "context"
            and target.context != place.context
            and target.inner not in rules.public_modules
        ):
            public = ", ".join(sorted(name for name in rules.public_modules if name))
            yield Violation(
                CONTEXT_INTERNAL,
                info.name,
                ref.line,
                ref.target,
                f"`{target.inner}` is internal to {target.context}; another context may import "
                f"only its package or {public}{ref.context_note()}",
            )
        if target.kind == "composition":
            yield Violation(
                CONTEXT_IMPORTS_COMPOSITION,
                info.name,
                ref.line,
                ref.target,
                "contexts never reach up into the composition/entry layer; take the object as a "
                f"parameter or through a port{ref.context_note()}",
            )
        if place.kind == "context" and role == rules.router_module:
            for forbidden in rules.router_forbidden_internal:
                if within(ref.target, rules.full(forbidden)):
                    yield Violation(
                        ROUTER_HOLDS_RULES,
                        info.name,
                        ref.line,
                        ref.target,
                        "routers do HTTP only: localized messages belong to services and error "
                        f"specs{ref.context_note()}",
                    )
    if place.kind != "context":
        return
    for ref, names in _by_statement(info.external):
        what = _what(ref, names)
        if role == rules.router_module and _matches_any(ref, rules.router_forbidden_external):
            yield Violation(
                ROUTER_HOLDS_RULES,
                info.name,
                ref.line,
                ref.target,
                f"routers do HTTP only: {what} belongs in a repository, and sessions come "
                f"from dependencies{ref.context_note()}",
            )
        if role not in rules.http_modules and _matches_any(ref, rules.http_packages):
            roles = ", ".join(f"{name}.py" for name in sorted(rules.http_modules))
            yield Violation(
                SERVICE_IMPORTS_HTTP,
                info.name,
                ref.line,
                ref.target,
                f"{what}: HTTP types; in a context only {roles} may use them{ref.context_note()}",
            )
        builders = [
            name
            for name in names
            if _matches_any(ref, rules.query_packages, name)
            and not _matches_any(ref, rules.query_allowed, name)
        ]
        if role not in rules.query_modules and builders:
            roles = ", ".join(f"{name}.py" for name in sorted(rules.query_modules))
            allowed = ", ".join(rules.query_allowed)
            yield Violation(
                QUERY_OUTSIDE_REPOSITORY,
                info.name,
                ref.line,
                ref.target,
                f"{_what(ref, builders)}: query building belongs in {roles}; elsewhere import "
                f"only {allowed}{ref.context_note()}",
            )


def _by_statement(refs: Iterable[ImportRef]) -> list[tuple[ImportRef, list[str | None]]]:
    """The references of one `from m import a, b` statement together: (first ref, names)."""
    groups: dict[tuple[str, int, bool, str | None], tuple[ImportRef, list[str | None]]] = {}
    for ref in refs:
        key = (ref.target, ref.line, ref.type_checking, ref.scope)
        groups.setdefault(key, (ref, []))[1].append(ref.name)
    return list(groups.values())


def _matches_any(ref: ImportRef, prefixes: Iterable[str], name: str | None = None) -> bool:
    """`ref` (or `name` taken from its module) is one of `prefixes`, or below one of them."""
    qualified = ref.target if name is None else f"{ref.target}.{name}"
    return any(within(ref.target, p) or within(qualified, p) for p in prefixes)


def _what(ref: ImportRef, names: Iterable[str | None]) -> str:
    taken = [f"`{name}`" for name in names if name is not None]
    return f"`{ref.target}`" if not taken else f"{', '.join(taken)} from `{ref.target}`"


# --------------------------------------------------------------------------------------------
# Cycles


def strongly_connected(graph: Mapping[str, Mapping[str, object]]) -> list[list[str]]:
    """The components with more than one module (Tarjan, iterative), each sorted, in order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def enter(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return iter(sorted(graph[node]))

    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, enter(root))]
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    work.append((successor, enter(successor)))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def shortest_cycle(graph: Mapping[str, Mapping[str, object]], start: str) -> list[str]:
    """The shortest cycle through `start` as [start, ..., start] (breadth-first); [] if none."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for successor in sorted(graph[node]):
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if successor not in parents:
                parents[successor] = node
                queue.append(successor)
    return []


def _cycle_violations(graph: Mapping[str, Mapping[str, ImportRef]]) -> Iterator[Violation]:
    for component in strongly_connected(graph):
        members = set(component)
        inside = {node: {t: r for t, r in graph[node].items() if t in members} for node in members}
        cycle = shortest_cycle(inside, component[0])
        steps = []
        for node, successor in pairwise(cycle):
            ref = inside[node][successor]
            steps.append(f"{node}:{ref.line}{ref.context_note()}")
        chain = " -> ".join([*steps, cycle[-1]])
        rest = sorted(members - set(cycle))
        also = f"; the same cycle group also holds {', '.join(rest)}" if rest else ""
        first = inside[cycle[0]][cycle[1]]
        yield Violation(
            IMPORT_CYCLE,
            cycle[0],
            first.line,
            cycle[1],
            f"import cycle (module:line of each import): {chain}{also}",
        )


def report(violations: Iterable[Violation]) -> str:
    """One line per violation, grouped under a header per rule."""
    lines: list[str] = []
    current = None
    for violation in sorted(violations):
        if violation.rule != current:
            current = violation.rule
            lines.append(f"== [{current}] {RULES.get(current, '')}")
        lines.append(f"  {violation}")
    return "\n".join(lines)

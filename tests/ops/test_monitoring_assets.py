"""The alert rules and the Grafana dashboard in deploy/ stay loadable and true to the service.

promtool (Debian's `prometheus` package) checks the rules, runs their unit tests and parses every
dashboard query; it is installed here when missing, because CI starts on a machine without it.
Metric names are checked against the live registry, so renaming a metric in
`garment.platform.metrics` fails here instead of silently blanking a panel or an alert.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import prometheus_client
import pytest

# PyYAML comes with uvicorn[standard]; its stubs are not among the dev dependencies.
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "garment-alerts.yml"
ALERT_TESTS = PROMETHEUS_DIR / "garment-alerts.test.yml"
PROMETHEUS_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "garment-overview.json"

SEVERITIES = {"page", "ticket"}
# Series names prometheus_client writes for one family, by type (counters drop `_total` from the
# family name and add it back on the sample; `_created` is exported unless disabled).
SAMPLE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "unknown": ("",),
}
STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
METRIC_NAME = re.compile(r"(?<![\w:])garment_[A-Za-z0-9_:]*")
GRAFANA_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")
INSTALL_TIMEOUT_SECONDS = 600


# --- promtool --------------------------------------------------------------------------------


def _unavailable(reason: str) -> NoReturn:
    # On CI a missing promtool must not pass as a skip: the rules would go unchecked.
    if os.environ.get("CI"):
        pytest.fail(f"promtool unavailable on CI: {reason}")
    pytest.skip(f"promtool unavailable: {reason}")


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    environment = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", "-q", "-o", "DPkg::Lock::Timeout=300", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=INSTALL_TIMEOUT_SECONDS,
        check=False,
    )


def _install_promtool() -> str | None:
    """Install Debian's prometheus package; the reason when that failed."""
    install = ("install", "-y", "--no-install-recommends", "prometheus")
    result = _apt_get(*install)
    if result.returncode != 0:
        # A fresh machine may have no package lists, or lists older than the mirror.
        update = _apt_get("update")
        if update.returncode != 0:
            return f"`apt-get update` failed: {update.stderr.strip()[-500:]}"
        result = _apt_get(*install)
    if result.returncode != 0:
        return f"`apt-get install prometheus` failed: {result.stderr.strip()[-500:]}"
    return None


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.geteuid() != 0:
            _unavailable(
                "not on PATH, and installing it needs root: "
                "`apt-get install --no-install-recommends prometheus`"
            )
        if shutil.which("apt-get") is None:
            _unavailable("not on PATH, and this machine has no apt-get to install it with")
        # xdist workers each run this fixture; one installs, the others wait for it.
        lock_path = Path(tempfile.gettempdir()) / "garment-promtool-install.lock"
        with lock_path.open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = shutil.which("promtool")
                if found is None:
                    failure = _install_promtool()
                    found = shutil.which("promtool")
                    if found is None:
                        _unavailable(failure or "installed prometheus but promtool is not on PATH")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    assert found is not None
    return found


def run_promtool(promtool: str, *args: str, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        [promtool, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"promtool {' '.join(args)} failed:\n{output}"
    return output


# --- the files -------------------------------------------------------------------------------


def load_alert_rules() -> list[dict[str, Any]]:
    document: Any = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    groups = document["groups"]
    assert isinstance(groups, list)
    rules: list[dict[str, Any]] = [rule for group in groups for rule in group["rules"]]
    return [rule for rule in rules if "alert" in rule]


def load_dashboard() -> dict[str, Any]:
    dashboard: Any = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(dashboard, dict)
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those folded into collapsed rows."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """PromQL of every panel target, keyed by where it lives (for failure messages)."""
    queries: dict[str, str] = {}
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            if "expr" in target:
                queries[f"panel {panel['id']} ({panel['title']}) {target['refId']}"] = target[
                    "expr"
                ]
    return queries


def templating_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        queries[f"variable {variable['name']}"] = text
    return queries


def referenced_metrics(expression: str) -> set[str]:
    # Label values like task="job-worker" are strings, never metric names.
    return set(METRIC_NAME.findall(STRING_LITERAL.sub('""', expression)))


def exported_metric_names() -> set[str]:
    """Every series name the service can write, read from the registry its modules fill."""
    importlib.import_module("garment.platform.metrics")
    importlib.import_module("garment.app")
    names: set[str] = set()
    for family in prometheus_client.REGISTRY.collect():
        names.update(sample.name for sample in family.samples)
        # A labelled metric no request has touched yet has no samples, but still exists.
        names.update(family.name + suffix for suffix in SAMPLE_SUFFIXES.get(family.type, ("",)))
    return {name for name in names if name.startswith("garment_")}


def github_anchors(markdown: str) -> set[str]:
    """Anchors GitHub generates for the headings of a markdown document."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if in_fence or heading is None:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


# --- promtool checks -------------------------------------------------------------------------


def test_alert_rules_pass_promtool_check(promtool: str) -> None:
    output = run_promtool(promtool, "check", "rules", str(ALERTS.relative_to(ROOT)))
    assert "SUCCESS" in output


def test_alert_rules_unit_tests_pass(promtool: str) -> None:
    run_promtool(promtool, "test", "rules", ALERT_TESTS.name, cwd=PROMETHEUS_DIR)


def test_example_prometheus_config_passes_promtool_check(promtool: str) -> None:
    # rule_files are resolved against the config's folder, as Prometheus itself does.
    output = run_promtool(promtool, "check", "config", PROMETHEUS_CONFIG.name, cwd=PROMETHEUS_DIR)
    assert f"{len(load_alert_rules())} rules found" in output


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each panel query, with Grafana's variables filled in, parses as a recording rule."""

    def fill(variable: re.Match[str]) -> str:
        return "5m" if variable.group(1).startswith("__") else ".*"

    queries = dashboard_queries(load_dashboard())
    rules = [
        {"record": f"dashboard:query_{index}", "expr": GRAFANA_VARIABLE.sub(fill, expr)}
        for index, expr in enumerate(queries.values())
    ]
    rules_file = tmp_path / "dashboard-queries.yml"
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run_promtool(promtool, "check", "rules", str(rules_file))


# --- metric names ----------------------------------------------------------------------------


def test_registry_knows_the_documented_metrics() -> None:
    """Guards the two tests below against passing on an empty registry."""
    exported = exported_metric_names()
    for name in (
        "garment_http_requests_total",
        "garment_http_request_duration_seconds_bucket",
        "garment_db_up",
        "garment_background_alive",
    ):
        assert name in exported


def test_alert_expressions_reference_only_exported_metrics() -> None:
    exported = exported_metric_names()
    unknown = {
        f"{rule['alert']}: {name}"
        for rule in load_alert_rules()
        for name in referenced_metrics(rule["expr"])
        if name not in exported
    }
    assert not unknown, f"alerts use metrics the service does not export: {sorted(unknown)}"


def test_dashboard_queries_reference_only_exported_metrics() -> None:
    dashboard = load_dashboard()
    exported = exported_metric_names()
    queries = dashboard_queries(dashboard) | templating_queries(dashboard)
    unknown = {
        f"{where}: {name}"
        for where, expr in queries.items()
        for name in referenced_metrics(expr)
        if name not in exported
    }
    assert not unknown, f"dashboard uses metrics the service does not export: {sorted(unknown)}"


# --- structure -------------------------------------------------------------------------------


def test_dashboard_panels_have_queries_and_unique_ids() -> None:
    dashboard = load_dashboard()
    panels = dashboard_panels(dashboard)
    assert panels, "the dashboard has no panels"
    ids: list[int] = [panel["id"] for panel in panels if "id" in panel]
    assert len(ids) == len(panels), "every panel needs an id"
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(ids)}"
    empty = [
        panel["title"]
        for panel in panels
        if panel.get("type") != "row"
        and not any(target.get("expr") for target in panel.get("targets", []))
    ]
    assert not empty, f"panels without a query: {empty}"


def test_dashboard_uses_a_selectable_prometheus_datasource() -> None:
    """Hard-coded datasource uids break the import on every other Grafana."""
    dashboard = load_dashboard()
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard_panels(dashboard):
        if panel.get("type") == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


def test_alerts_have_severity_and_operator_annotations() -> None:
    rules = load_alert_rules()
    assert rules
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names)), "alert names must be unique"
    for rule in rules:
        assert rule.get("labels", {}).get("severity") in SEVERITIES, rule["alert"]
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook"):
            assert str(annotations.get(key, "")).strip(), f"{rule['alert']} has no {key}"


def test_alert_runbooks_point_to_existing_headings() -> None:
    broken: list[str] = []
    for rule in load_alert_rules():
        runbook = rule["annotations"]["runbook"]
        path, _, anchor = runbook.partition("#")
        document = ROOT / path
        if not path.startswith("docs/") or not anchor or not document.is_file():
            broken.append(f"{rule['alert']}: {runbook} (want docs/FILE.md#anchor)")
        elif anchor not in github_anchors(document.read_text(encoding="utf-8")):
            broken.append(f"{rule['alert']}: no heading with anchor #{anchor} in {path}")
    assert not broken, "\n".join(broken)


def test_github_anchors_follow_githubs_rules() -> None:
    markdown = (
        "# 22 - Incident Playbooks\n"
        "## 1. Refresh Token Replay / Fingerprint Mismatch\n"
        "```\n## not a heading\n```\n"
        "## 3. Billing Webhook Failure (*planned*)\n"
        "## Health, metrics and logs\n"
        "## Health, metrics and logs\n"
    )
    assert github_anchors(markdown) == {
        "22---incident-playbooks",
        "1-refresh-token-replay--fingerprint-mismatch",
        "3-billing-webhook-failure-planned",
        "health-metrics-and-logs",
        "health-metrics-and-logs-1",
    }

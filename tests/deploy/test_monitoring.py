"""deploy/monitoring: the alert rules pass `promtool check rules` and their unit tests
(`promtool test rules`), the Alertmanager config passes `amtool check-config` and routes
pages to PagerDuty and Slack, and the rules and the Grafana dashboard only use metrics
CodeForge exports, covering all of them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import yaml

from .monitoring_support import MONITORING, exported_families, exported_samples, metrics_in, tool

RULES = MONITORING / "rules.yml"
ALERTS = (
    "CodeForgeApiDown",
    "CodeForgeApiHighErrorRate",
    "CodeForgeApiSlow",
    "CodeForgeQueueBacklog",
    "CodeForgeWorkersAbsent",
    "CodeForgeDatabaseDown",
    "CodeForgeRedisDown",
    "CodeForgeArtifactStoreErrors",
)


def run(*argv: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def rules() -> list[dict[str, object]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in data["groups"] for rule in group["rules"]]


def test_the_rules_pass_promtool_check() -> None:
    result = run(tool("promtool"), "check", "rules", "rules.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_the_rules_unit_tests_pass_and_can_fail(tmp_path: Path) -> None:
    promtool = tool("promtool")
    result = run(promtool, "test", "rules", "rules_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # the same tests against a rule that waits longer than they expect: they fail
    for name in ("rules.yml", "rules_test.yml"):
        shutil.copy(MONITORING / name, tmp_path / name)
    text = (tmp_path / "rules.yml").read_text(encoding="utf-8")
    (tmp_path / "rules.yml").write_text(text.replace("> 300", "> 3000"), encoding="utf-8")
    broken = run(promtool, "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert broken.returncode != 0
    assert "CodeForgeQueueBacklog" in broken.stdout + broken.stderr


def test_every_alert_is_unit_tested_and_documented() -> None:
    names = [str(rule["alert"]) for rule in rules()]
    assert sorted(names) == sorted(ALERTS)
    tests = (MONITORING / "rules_test.yml").read_text(encoding="utf-8")
    operations = (MONITORING.parents[1] / "docs" / "operations.md").read_text(encoding="utf-8")
    for rule in rules():
        name = str(rule["alert"])
        assert f"alertname: {name}\n" in tests, f"{name} has no firing test"
        assert f"### {name}" in operations, f"docs/operations.md does not explain {name}"
        runbook = rule["annotations"]["runbook"]  # type: ignore[index]
        assert runbook == f"docs/operations.md#{name.lower()}"


def test_the_rules_use_only_exported_metrics() -> None:
    exported = exported_samples()
    for rule in rules():
        expr = str(rule["expr"])
        used = metrics_in(expr)
        # Prometheus's own `up` of the scrape jobs, or CodeForge's metrics
        assert used or 'up{job="codeforge-' in expr, f"{rule['alert']} uses no CodeForge metric"
        assert used <= exported, f"{rule['alert']} uses unknown metrics {used - exported}"


def test_alertmanager_config_is_valid_and_routes_pages_to_pagerduty_and_slack() -> None:
    amtool = tool("amtool")
    result = run(amtool, "check-config", "alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    pages = run(
        amtool, "config", "routes", "test", "--config.file=alertmanager.yml", "severity=page"
    )
    assert pages.stdout.split()[-1] == "pagerduty,slack"
    tickets = run(
        amtool, "config", "routes", "test", "--config.file=alertmanager.yml", "severity=ticket"
    )
    assert tickets.stdout.split()[-1] == "slack"


def test_alertmanager_secrets_are_file_references() -> None:
    config = yaml.safe_load((MONITORING / "alertmanager.yml").read_text(encoding="utf-8"))
    assert config["global"]["slack_api_url_file"].startswith("/etc/alertmanager/secrets/")
    assert "slack_api_url" not in config["global"]
    (pagerduty,) = [r for r in config["receivers"] if r["name"] == "pagerduty"]
    assert set(pagerduty["pagerduty_configs"][0]) >= {"routing_key_file"}
    assert "routing_key" not in pagerduty["pagerduty_configs"][0]


def test_the_dashboard_covers_every_exported_metric_and_only_those() -> None:
    dashboard = json.loads((MONITORING / "grafana" / "codeforge-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exported = exported_samples()
    used: set[str] = set()
    for expr in exprs:
        found = metrics_in(expr)
        assert found and found <= exported, f"{expr!r} uses unknown metrics {found - exported}"
        used |= found
    covered = {name for name in exported_families() if any(u.startswith(name) for u in used)}
    assert covered == set(exported_families()), (
        f"not on the dashboard: {set(exported_families()) - covered}"
    )

"""The verifier of model findings, fed the JSON a model could answer (no model runs).

The file is the one from the issue: SQL built from user input, ``shell=True`` on
user input and a hard-coded password; the static findings come from the real
ruff and bandit run on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codeforge.ai.findings import Finding
from codeforge.ai.grounding import CWES, ground, normalise_cwe, rule_cwe
from codeforge.ai.review import static_review

APP = """import sqlite3
import subprocess

PASSWORD = "hunter2"


def find(name):
    conn = sqlite3.connect("app.db")
    query = "SELECT * FROM users WHERE name = '" + name + "'"
    return conn.execute(query).fetchall()


def run(cmd):
    return subprocess.call(cmd, shell=True)


def main():
    user = input("name? ")
    print(find(user))
    run(input("command? "))
"""

SHELL = {
    "line": 14,
    "cwe": "CWE-78",
    "quote": "subprocess.call(cmd, shell=True)",
    "flow": "run() receives cmd from input() in main and passes it to a shell.",
    "severity": "critical",
    "message": "command injection",
    "suggestion": "pass an argument list without shell=True",
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Finding]]:
    path = tmp_path_factory.mktemp("g") / "app.py"
    path.write_text(APP)
    static, not_run = static_review([path])
    assert not_run == {}
    return path, static


def run_ground(app: tuple[Path, list[Finding]], *items: dict[str, Any]) -> Any:
    path, static = app
    answer = json.loads(json.dumps({"findings": list(items)}))  # as it comes off the wire
    return ground(answer["findings"], str(path), APP, static)


def test_static_findings_carry_their_cwe(app: tuple[Path, list[Finding]]) -> None:
    by_line = {(f.source, f.line): f.cwe for f in app[1]}
    assert by_line[("bandit", 14)] == "CWE-78"
    assert by_line[("bandit", 9)] == "CWE-89"
    assert by_line[("bandit", 4)] == "CWE-259"


def test_a_grounded_finding_that_bandit_agrees_with_keeps_its_severity(
    app: tuple[Path, list[Finding]],
) -> None:
    kept, dropped = run_ground(app, SHELL)
    assert dropped == []
    [finding] = kept
    assert finding.severity == "critical"
    assert finding.cwe == "CWE-78"
    assert finding.confirmed_by.startswith(("bandit:B602 at line 14", "ruff:S602 at line 14"))
    assert finding.quote == "subprocess.call(cmd, shell=True)"


def test_a_wrong_line_is_dropped(app: tuple[Path, list[Finding]]) -> None:
    kept, dropped = run_ground(app, {**SHELL, "line": 99}, {**SHELL, "line": 3})
    assert kept == []
    assert dropped[0].reason == "line 99 does not exist (the file has 20 lines)"
    assert dropped[1].reason == "the quoted code is not at line 3"


def test_a_fabricated_quote_is_dropped(app: tuple[Path, list[Finding]]) -> None:
    cut = {**SHELL, "line": 1, "cwe": "CWE-20", "quote": "import sqlite"}  # half a name
    kept, dropped = run_ground(app, cut, {**SHELL, "quote": "os.system(cmd)"})
    assert kept == []
    assert [d.reason for d in dropped] == [
        "the quoted code is not at line 1",
        "the quoted code is not at line 14",
    ]


def test_the_issues_invented_import_finding_is_dropped(app: tuple[Path, list[Finding]]) -> None:
    # "The import statement for sqlite3 is incorrect. It should be `import sqlite3`."
    invented = {
        **SHELL,
        "line": 1,
        "quote": "import sqlite3",
        "message": "The import statement for sqlite3 is incorrect.",
    }
    for cwe in ("CWE-20", "CWE-78"):
        kept, dropped = run_ground(app, {**invented, "cwe": cwe})
        assert kept == []
        assert dropped[0].reason == "an import statement is not a sink"


def test_a_quote_without_the_weakness_sink_is_dropped(app: tuple[Path, list[Finding]]) -> None:
    wrong = {**SHELL, "line": 18, "cwe": "CWE-89", "quote": 'user = input("name? ")'}
    kept, dropped = run_ground(app, wrong)
    assert kept == []
    assert dropped[0].reason == "the quoted code shows no CWE-89 sink"


@pytest.mark.parametrize("cwe", ["CWE-1234", "CWE-787", "injection", ""])
def test_an_unknown_cwe_is_dropped(app: tuple[Path, list[Finding]], cwe: str) -> None:
    kept, dropped = run_ground(app, {**SHELL, "cwe": cwe})
    assert kept == []
    assert dropped[0].reason == f"{cwe!r} is not a CWE id of the review's list"


@pytest.mark.parametrize("flow", ["", "bad", "One. Two. Three sentences are too many here."])
def test_a_finding_without_a_data_flow_is_dropped(
    app: tuple[Path, list[Finding]], flow: str
) -> None:
    kept, dropped = run_ground(app, {**SHELL, "flow": flow})
    assert kept == []
    assert dropped[0].reason == "no data flow from source to sink in one or two sentences"


def test_a_critical_model_only_finding_is_capped_at_medium(
    app: tuple[Path, list[Finding]],
) -> None:
    # Real code at a real line, but no static rule reports CWE-78 at line 20.
    only_model = {
        **SHELL,
        "line": 20,
        "quote": 'run(input("command? "))',
        "flow": "input() is passed to run(), which hands it to a shell.",
    }
    kept, dropped = run_ground(app, only_model)
    assert dropped == []
    [finding] = kept
    assert (finding.severity, finding.confirmed_by) == ("medium", "")


def test_agreement_needs_the_same_weakness(app: tuple[Path, list[Finding]]) -> None:
    """bandit flags line 9 as CWE-89: a model's CWE-94 next to it is not confirmed by it."""
    claim = {**SHELL, "line": 10, "cwe": "CWE-94", "quote": "conn.execute(query)"}
    kept, _ = run_ground(app, claim)
    assert (kept[0].severity, kept[0].confirmed_by) == ("medium", "")


def test_hard_coded_password_families_agree(app: tuple[Path, list[Finding]]) -> None:
    secret = {
        **SHELL,
        "line": 4,
        "cwe": "CWE-798",
        "quote": 'PASSWORD = "hunter2"',
        "flow": "A literal password is the source; it ships with the code.",
        "severity": "high",
    }
    kept, _ = run_ground(app, secret)
    assert kept[0].severity == "high"
    assert "B105" in kept[0].confirmed_by or "S105" in kept[0].confirmed_by


def test_cwe_ids_normalise_and_rules_map() -> None:
    assert normalise_cwe("cwe-078") == "CWE-78"
    assert normalise_cwe(89) == "CWE-89"
    assert normalise_cwe("CWE-9999") is None
    assert rule_cwe("ruff", "S608") == rule_cwe("bandit", "B608") == "CWE-89"
    assert rule_cwe("ruff", "F401") == ""
    assert len(CWES) == len(set(CWES)) and all(k.startswith("CWE-") for k in CWES)

"""`codeforge workflow run|status` through the real console script: exit codes, the failed
step's last lines, trust, and Ctrl-C recording the stage as interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from blueprint_factory import make_blueprint
from cli_support import CODEFORGE, console

SLEEP = (
    "import os, sys, time\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "print('sleeping', flush=True)\n"
    "time.sleep(120)\n"
)
FAIL = "import sys\nfor i in range(30): print('check', i)\nsys.exit(4)"


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
    }


def make_project(tmp_path: Path, verify: list[dict[str, object]]) -> Path:
    bp = make_blueprint(
        tmp_path / "bp",
        {"workflow": {"verify": verify, "build": [{"run": [sys.executable, "-c", "print(1)"]}]}},
        {"README.md": "hello\n"},
    )
    made = console(
        "init", "-t", str(bp), "proj", "--defaults", "--no-git", "-q",
        env=env_for(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return tmp_path / "proj"


def status(tmp_path: Path, project: Path) -> list[dict[str, object]]:
    shown = console("workflow", "status", "-C", str(project), "--json", env=env_for(tmp_path))
    assert shown.returncode == 0, shown.stderr
    return list(json.loads(shown.stdout))


def test_a_failed_step_exits_11_with_its_last_lines(tmp_path: Path) -> None:
    project = make_project(tmp_path, [{"name": "Check", "run": [sys.executable, "-c", FAIL]}])
    done = console("workflow", "run", "--trust", "-C", str(project), env=env_for(tmp_path))
    assert done.returncode == 11
    assert "  | check 29" in done.stderr and "  | check 9\n" not in done.stderr
    assert "error: verify: Check: `" in done.stderr and "exited with 4" in done.stderr
    stages = status(tmp_path, project)
    assert [(s["stage"], (s["last"] or {}).get("status")) for s in stages] == [
        ("verify", "failed"),
        ("build", None),
    ]


def test_blueprint_commands_from_an_untrusted_folder_need_trust(tmp_path: Path) -> None:
    project = make_project(tmp_path, [{"run": [sys.executable, "-c", "print(1)"]}])
    refused = console("workflow", "run", "-C", str(project), env=env_for(tmp_path))
    assert refused.returncode == 6
    assert "runs 2 command(s) from the blueprint" in refused.stderr
    assert "--trust" in refused.stderr
    ran = console("workflow", "run", "--trust", "-C", str(project), env=env_for(tmp_path))
    assert ran.returncode == 0, ran.stderr
    dry = console(
        "workflow", "run", "--dry-run", "--force", "-C", str(project), env=env_for(tmp_path)
    )
    assert dry.returncode == 0 and "verify: would run" in dry.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "test"], "Invalid value for '[STAGE]...'"),
        (["run", "deploy"], "the blueprint declares no deploy stage"),
        (["run", "--from", "nope"], "Invalid value for '--from'"),
    ],
)
def test_bad_stage_names_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    project = make_project(tmp_path, [{"run": [sys.executable, "-c", "print(1)"]}])
    done = console("workflow", *args, "--trust", "-C", str(project), env=env_for(tmp_path))
    assert done.returncode == 2
    assert message in done.stderr


def test_ctrl_c_stops_the_step_and_records_the_stage_interrupted(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    step = {"name": "Sleep", "run": [sys.executable, "-c", SLEEP, str(pid_file)]}
    project = make_project(tmp_path, [step])
    proc = subprocess.Popen(
        [str(CODEFORGE), "workflow", "run", "--trust", "-C", str(project)],
        env={**os.environ, **env_for(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C must reach the script even when this run inherited "ignore SIGINT".
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and proc.poll() is None, "the step never started"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Aborted." in err  # Click's word for a KeyboardInterrupt
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)  # the step's process was stopped with the run
    verify = status(tmp_path, project)[0]
    assert verify["last"]["status"] == "interrupted"  # type: ignore[index]
    assert verify["last"]["step"] == "Sleep"  # type: ignore[index]


def test_a_run_journals_its_stages_and_the_store_applies_them_on_read(tmp_path: Path) -> None:
    project = make_project(tmp_path, [{"run": [sys.executable, "-c", "print(1)"]}])
    argv = ["workflow", "run", "--trust", "-C", str(project)]
    script = (
        "import json, sys\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        f"    run({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env_for(tmp_path)}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    for name in ("sqlalchemy", "codeforge.db.store"):
        assert name not in modules, f"workflow run imported {name}"
    journal = (tmp_path / "data" / "journal.jsonl").read_text().splitlines()
    workflow = [json.loads(line) for line in journal if '"action":"workflow"' in line]
    assert [w["details"]["result"]["stage"] for w in workflow] == ["verify", "build"]

    listed = console("list", "projects", "--json", env=env_for(tmp_path))
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)
    assert shown["path"] == str(project.resolve()) and shown["workflow"] == "build: succeeded"
    assert not (tmp_path / "data" / "journal.jsonl").exists()  # applied, and only once
    again = console("list", "projects", "--json", env=env_for(tmp_path))
    assert json.loads(again.stdout) == [shown]

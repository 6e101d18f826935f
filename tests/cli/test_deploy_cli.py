"""`codeforge deploy` through the real console script: it runs the stages up to deploy with
the target and environment the steps see as ``deploy``, keys reruns on them, and --down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from blueprint_factory import make_blueprint
from cli_support import console

from .test_workflow_cli import env_for

# Each step appends what it saw to a log in the project, so the test reads what ran.
LOG = "import sys\nopen('ran.log', 'a').write(' '.join(sys.argv[1:]) + '\\n')"


def step(*args: str, when: str | None = None) -> dict[str, object]:
    made: dict[str, object] = {"run": [sys.executable, "-c", LOG, *args]}
    if when is not None:
        made["when"] = when
    return made


def make_project(tmp_path: Path, workflow: dict[str, object]) -> Path:
    bp = make_blueprint(tmp_path / "bp", {"workflow": workflow}, {"README.md": "hello\n"})
    made = console(
        "init", "-t", str(bp), "proj", "--defaults", "--no-git", "-q",
        env=env_for(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return tmp_path / "proj"


WORKFLOW = {
    "verify": [step("verify")],
    "deploy": [
        step("docker", "{{ deploy.env }}", "{{ deploy.down }}", when="deploy.target == 'docker'"),
        step("kube", "{{ deploy.env }}", when="deploy.target == 'kubernetes'"),
    ],
}


def ran(project: Path) -> list[str]:
    lines = (project / "ran.log").read_text().splitlines()
    (project / "ran.log").unlink()
    return lines


def test_deploy_runs_up_to_deploy_with_the_target_and_environment(tmp_path: Path) -> None:
    project = make_project(tmp_path, WORKFLOW)
    env = env_for(tmp_path)
    first = console("deploy", str(project), "--trust", env=env)
    assert first.returncode == 0, first.stderr
    assert ran(project) == ["verify", "docker dev False"]  # the defaults: docker, dev
    # Unchanged inputs: skipped. Another environment or target is another input.
    again = console("deploy", str(project), "--trust", env=env)
    assert again.returncode == 0 and "deploy: skipped" in again.stderr
    assert not (project / "ran.log").exists()
    prod = console(
        "deploy", str(project), "--trust", "--env", "prod", "--target", "kubernetes", env=env
    )
    assert prod.returncode == 0, prod.stderr
    assert ran(project) == ["kube prod"]  # verify's inputs did not change
    down = console("deploy", str(project), "--trust", "--down", env=env)
    assert down.returncode == 0, down.stderr
    assert ran(project) == ["docker dev True"]  # --down: the deploy stage only, always
    shown = console("workflow", "status", "-C", str(project), "--json", env=env)
    last = {s["stage"]: (s["last"] or {}).get("status") for s in json.loads(shown.stdout)}
    assert last == {"verify": "succeeded", "deploy": "succeeded"}


def test_the_environment_variables_choose_the_defaults(tmp_path: Path) -> None:
    project = make_project(tmp_path, WORKFLOW)
    env = {
        **env_for(tmp_path),
        "CODEFORGE_DEPLOY_TARGET": "kubernetes",
        "CODEFORGE_DEPLOY_ENV": "qa",
    }
    done = console("deploy", str(project), "--trust", env=env)
    assert done.returncode == 0, done.stderr
    assert ran(project) == ["verify", "kube qa"]


def test_bad_deploy_requests_are_usage_errors(tmp_path: Path) -> None:
    no_deploy = make_project(tmp_path, {"verify": [step("verify")]})
    env = env_for(tmp_path)
    missing = console("deploy", str(no_deploy), "--trust", env=env)
    assert missing.returncode == 2
    assert "declares no deploy stage" in missing.stderr
    assert not (no_deploy / "ran.log").exists()  # nothing ran before the refusal
    (tmp_path / "two").mkdir()
    project = make_project(tmp_path / "two", WORKFLOW)
    compose = console("deploy", str(project), "--trust", "--target", "compose", env=env)
    assert compose.returncode == 2
    assert "no step for target 'compose'" in compose.stderr and "--target" in compose.stderr
    bad_env = console("deploy", str(project), "--env", "../x", env=env)
    assert bad_env.returncode == 2 and "--env" in bad_env.stderr
    bad_target = console("deploy", str(project), "--target", "mars", env=env)
    assert bad_target.returncode == 2 and "mars" in bad_target.stderr

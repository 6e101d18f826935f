"""SDLCEngine.manage_workflow: stages in order, reruns skipped by their inputs, failures, trust."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from codeforge.core.engine import SDLCEngine
from codeforge.core.sdlc import ActionContext, StageResult, WorkflowRequest
from codeforge.core.steps import StepFailed
from codeforge.errors import NotFoundError, SecurityError, UsageError

APPEND = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))"


class MemoryStore:
    """A WorkflowStore in a dict (the CLI's keeps a file and the database)."""

    def __init__(self) -> None:
        self.results: dict[str, StageResult] = {}
        self.history: list[StageResult] = []

    def last_results(self, project: Path) -> Mapping[str, StageResult]:
        return dict(self.results)

    def record(self, project: Path, result: StageResult) -> None:
        self.results[result.stage] = result
        self.history.append(result)

    def remember_plan(self, project: Path, cache: Mapping[str, Any]) -> None:
        self.plan = dict(cache)


class Echo:
    """An action that returns its inputs as outputs and runs one command."""

    name = "test.echo"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        context.run([sys.executable, "-c", "print('echo ran')"])
        return {k: str(v) for k, v in context.inputs.items()}


class Broken:
    """An action with a bug."""

    name = "test.broken"

    def run(self, context: ActionContext) -> Mapping[str, str]:
        raise RuntimeError("oops")


def log_step(log: Path, word: str) -> dict[str, Any]:
    return {"run": [sys.executable, "-c", APPEND, str(log), word]}


@pytest.fixture
def project(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> Callable[[dict[str, Any]], Path]:
    def make(workflow: dict[str, Any]) -> Path:
        bp = blueprint(
            {"variables": {"flavour": {"default": "plain"}}, "workflow": workflow},
            {"README.md": "# {{ project_name }}\n", ".gitignore": "dist/\n"},
        )
        return engine.create_project(str(bp), "demo", output_dir=out, git=False).destination

    return make


def run(engine: SDLCEngine, store: MemoryStore, path: Path, **options: Any) -> list[str]:
    request = WorkflowRequest(path, trust=options.pop("trust", True), **options)
    done = engine.manage_workflow(
        request, actions={"test.echo": Echo(), "test.broken": Broken()}, store=store
    )
    return [f"{r.stage}:{r.status}" for r in done.results]


def test_stages_run_in_order_and_unchanged_ones_are_skipped(
    engine: SDLCEngine, project: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    path = project(
        {
            "build": [log_step(log, "build-{{ flavour }}")],
            "verify": [log_step(log, "verify-{{ project_name }}")],
        }
    )
    store = MemoryStore()
    assert run(engine, store, path) == ["verify:succeeded", "build:succeeded"]
    assert log.read_text() == "verify-demo\nbuild-plain\n"

    assert run(engine, store, path) == ["verify:skipped", "build:skipped"]
    (path / "dist").mkdir()
    (path / "dist" / "made.whl").write_text("ignored by .gitignore")
    assert run(engine, store, path) == ["verify:skipped", "build:skipped"]
    assert run(engine, store, path, force=True) == ["verify:succeeded", "build:succeeded"]

    (path / "README.md").write_text("changed\n")
    assert run(engine, store, path, stages=("build",)) == ["build:succeeded"]
    assert run(engine, store, path, start="verify") == ["verify:succeeded", "build:skipped"]
    assert log.read_text().count("\n") == 6


def test_a_failed_step_stops_the_run_and_keeps_its_last_lines(
    engine: SDLCEngine, project: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    noisy = "import sys\nfor i in range(40): print('line', i)\nsys.exit(3)"
    path = project(
        {
            "verify": [
                log_step(log, "first"),
                {"name": "Noisy", "run": [sys.executable, "-c", noisy]},
            ],
            "build": [log_step(log, "never")],
        }
    )
    store = MemoryStore()
    with pytest.raises(StepFailed) as info:
        run(engine, store, path)
    assert info.value.exit_code == 11
    assert "verify: Noisy" in info.value.message and "exited with 3" in info.value.message
    assert info.value.tail[-1] == "line 39" and len(info.value.tail) == 20
    assert log.read_text() == "first\n"
    failed = store.results["verify"]
    assert (failed.status, failed.step, failed.tail[-1]) == ("failed", "Noisy", "line 39")
    assert "build" not in store.results
    # A failed stage is never skipped.
    with pytest.raises(StepFailed):
        run(engine, store, path)


def test_blueprint_commands_need_trust_actions_do_not(
    engine: SDLCEngine, project: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    path = project(
        {
            "verify": [log_step(log, "x")],
            "publish": [{"action": "test.echo", "with": {"where": "{{ flavour }}-idx", "n": 2}}],
        }
    )
    store = MemoryStore()
    with pytest.raises(SecurityError, match="runs 1 command"):
        run(engine, store, path, trust=False)
    assert not log.exists() and store.history == []
    assert run(engine, store, path, trust=False, stages=("publish",)) == ["publish:succeeded"]
    assert store.results["publish"].outputs == {"where": "plain-idx", "n": "2"}


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("docker.build", "workflow action 'docker.build' is not available in this version"),
        ("k8s.apply", "workflow action 'k8s.apply' is not available in this version"),
        ("acme.deploy", "no installed plugin provides workflow action 'acme.deploy'"),
    ],
)
def test_actions_nobody_provides_are_refused_before_anything_runs(
    engine: SDLCEngine, project: Callable[..., Path], tmp_path: Path, action: str, message: str
) -> None:
    log = tmp_path / "log"
    path = project({"verify": [log_step(log, "x")], "deploy": [{"action": action}]})
    with pytest.raises(UsageError) as info:
        run(engine, MemoryStore(), path)
    assert info.value.message == message
    assert info.value.where == "workflow.deploy"
    assert not log.exists()


def test_dry_run_runs_and_records_nothing(
    engine: SDLCEngine, project: Callable[..., Path], tmp_path: Path
) -> None:
    log = tmp_path / "log"
    path = project({"verify": [log_step(log, "x")]})
    store = MemoryStore()
    assert run(engine, store, path, dry_run=True) == []
    assert not log.exists() and store.history == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stages": ("test",)}, "unknown stage 'test'"),
        ({"stages": ("deploy",)}, "the blueprint declares no deploy stage"),
        ({"start": "publish"}, "the blueprint declares no publish stage"),
    ],
)
def test_stage_names_are_checked(
    engine: SDLCEngine,
    project: Callable[..., Path],
    tmp_path: Path,
    options: dict[str, Any],
    message: str,
) -> None:
    path = project({"verify": [log_step(tmp_path / "log", "x")]})
    with pytest.raises(UsageError, match=message):
        run(engine, MemoryStore(), path, **options)


def test_a_blueprint_without_a_workflow_says_so(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    made = engine.create_project(str(blueprint({}, {"a.txt": "a"})), "p", output_dir=out, git=False)
    with pytest.raises(NotFoundError, match=r"the blueprint tiny 1\.0\.0 declares no workflow"):
        run(engine, MemoryStore(), made.destination)


def test_generation_stages_keep_their_own_runner(engine: SDLCEngine) -> None:
    from codeforge.core.engine import StagesState

    state = StagesState(template="t", name="n", data={})
    engine.run_stages([("one", lambda s: None)], state)
    assert set(state.timings) == {"one"}


def test_caller_defaults_fill_action_inputs_the_step_leaves_empty(
    engine: SDLCEngine, project: Callable[..., Path]
) -> None:
    path = project(
        {
            "build": [{"action": "test.echo", "with": {"where": "{{ '' }}"}}],
            "publish": [{"action": "test.echo", "with": {"where": "{{ flavour }}"}}],
        }
    )
    store = MemoryStore()
    defaults = {"test.echo": {"where": "from-settings", "extra": "x"}}
    assert run(engine, store, path, options=defaults) == ["build:succeeded", "publish:succeeded"]
    assert store.results["build"].outputs == {"where": "from-settings", "extra": "x"}
    assert store.results["publish"].outputs == {"where": "plain", "extra": "x"}
    # Another target is another input: the stages run again.
    other = {"test.echo": {"where": "elsewhere"}}
    assert run(engine, store, path, options=other) == ["build:succeeded", "publish:succeeded"]
    assert run(engine, store, path, options=other) == ["build:skipped", "publish:skipped"]


def test_an_action_that_breaks_fails_its_stage(
    engine: SDLCEngine, project: Callable[..., Path]
) -> None:
    path = project({"build": [{"name": "Bad", "action": "test.broken"}]})
    store = MemoryStore()
    with pytest.raises(StepFailed) as info:
        run(engine, store, path)
    assert info.value.message == "build: Bad: action test.broken failed: RuntimeError: oops"
    assert (store.results["build"].status, store.results["build"].step) == ("failed", "Bad")

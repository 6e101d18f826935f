"""The workflow use case: the quick rerun from the cached plan, and when it must not be used."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from codeforge.app.workflow import run_workflow, workflow_options, workflow_status
from codeforge.core.engine import SDLCEngine
from codeforge.core.sdlc_model import WorkflowRequest
from codeforge.errors import CodeForgeError
from codeforge.plugins import hookimpl
from codeforge.plugins.manager import Plugins, build_plugins
from codeforge.settings import load_settings

APPEND = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + chr(10))"


class Counting:
    """Builds the plugins on demand and counts how often that was needed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Plugins:
        self.calls += 1
        return build_plugins({})


@pytest.fixture
def made(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> tuple[Path, Path, Path]:
    log = tmp_path / "log"
    step = {"run": [sys.executable, "-c", APPEND, str(log), "{{ word }}"]}
    bp = blueprint(
        {"variables": {"word": {"default": "one"}}, "workflow": {"verify": [step]}},
        {"README.md": "hi\n"},
    )
    project = engine.create_project(str(bp), "p", output_dir=out, git=False).destination
    return bp, project, log


def statuses(project: Path, plugins: Counting, **options: Any) -> list[str]:
    request = WorkflowRequest(project, trust=True, **options)
    done = run_workflow(load_settings(), plugins, request)
    return [f"{r.stage}:{r.status}" for r in done.results]


def test_a_rerun_with_nothing_changed_loads_no_plugin_and_runs_nothing(
    made: tuple[Path, Path, Path],
) -> None:
    _, project, log = made
    plugins = Counting()
    assert statuses(project, plugins) == ["verify:succeeded"]
    assert plugins.calls == 1
    assert statuses(project, plugins) == ["verify:skipped"]
    assert plugins.calls == 1 and log.read_text() == "one\n"
    assert statuses(project, plugins, force=True) == ["verify:succeeded"]
    assert plugins.calls == 2


def test_a_forced_rerun_runs_the_cached_plan_without_the_engine(
    made: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, project, log = made
    plugins = Counting()
    assert statuses(project, plugins) == ["verify:succeeded"]

    def no_engine(*args: object, **kwargs: object) -> None:
        raise AssertionError("the engine was loaded")

    monkeypatch.setattr("codeforge.app.local.local_engine", no_engine)
    assert statuses(project, plugins, force=True) == ["verify:succeeded"]
    (project / "README.md").write_text("changed\n")  # a changed tree needs no new plan
    assert statuses(project, plugins) == ["verify:succeeded"]
    assert statuses(project, plugins) == ["verify:skipped"]
    assert log.read_text() == "one\none\none\n"


def test_a_changed_definition_or_answer_is_seen(made: tuple[Path, Path, Path]) -> None:
    bp, project, log = made
    plugins = Counting()
    assert statuses(project, plugins) == ["verify:succeeded"]
    definition = bp / "blueprint.yaml"
    data = yaml.safe_load(definition.read_text())
    data["workflow"]["verify"][0]["run"][-1] = "{{ word }}-two"
    definition.write_text(yaml.safe_dump(data))
    assert statuses(project, plugins) == ["verify:succeeded"]
    answers = project / ".codeforge-answers.yml"
    answers.write_text(answers.read_text().replace("word: one", "word: three"))
    assert statuses(project, plugins) == ["verify:succeeded"]
    assert log.read_text() == "one\none-two\nthree-two\n"
    state = workflow_status(load_settings(), plugins, WorkflowRequest(project))
    assert [(s["stage"], s["up_to_date"]) for s in state] == [("verify", True)]


def test_options_come_from_the_environment_then_the_config(
    codeforge_dirs: dict[str, Path],
) -> None:
    config = codeforge_dirs["config"]
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        '[workflow]\npackage_index = "http://127.0.0.1:1/"\nbuild_isolation = false\n'
    )
    settings = load_settings()
    assert workflow_options(settings, {}) == {
        "package.upload": {"repository_url": "http://127.0.0.1:1/"},
        "package.build": {"isolation": "false"},
    }
    env = {"CODEFORGE_PACKAGE_INDEX": "http://127.0.0.1:2/"}
    assert workflow_options(settings, env)["package.upload"] == {
        "repository_url": "http://127.0.0.1:2/"
    }


class Uploads:
    """An action that prints its target URL, then fails or succeeds as told."""

    name = "test.upload"

    def run(self, context: Any) -> dict[str, str]:
        code = "import sys; print('to', sys.argv[1]); sys.exit(int(sys.argv[2]))"
        url = str(context.inputs["repository_url"])
        context.run([sys.executable, "-c", code, url, str(context.inputs["exit"])])
        return {"url": url}


class UploadPlugin:
    @hookimpl
    def codeforge_workflow_actions(self) -> list[Uploads]:
        return [Uploads()]


def test_credentials_in_a_target_url_are_never_kept(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, codeforge_dirs: dict[str, Path]
) -> None:
    step = {"action": "test.upload", "with": {"exit": "{{ code }}"}}
    bp = blueprint({"variables": {"code": {"default": "1"}}, "workflow": {"publish": [step]}})
    project = engine.create_project(str(bp), "p", output_dir=out, git=False).destination
    secret = "http://uploader:tok3n-s3cret@127.0.0.1:9/"
    options = {"test.upload": {"repository_url": secret}}
    request = WorkflowRequest(project, options=options)

    def plugins() -> Plugins:
        return build_plugins({}, extra=[("uploads", UploadPlugin())])

    with pytest.raises(CodeForgeError) as info:
        run_workflow(load_settings(), plugins, request)
    assert "tok3n" not in str(info.value) and "tok3n" not in "".join(info.value.tail)  # type: ignore[attr-defined]
    answers = project / ".codeforge-answers.yml"
    text = answers.read_text()
    answers.write_text(re.sub(r"(?m)^(\s*code:\s*)\S+$", r"\g<1>'0'", text))
    assert answers.read_text() != text
    done = run_workflow(load_settings(), plugins, request)
    assert [r.status for r in done.results] == ["succeeded"]
    again = run_workflow(load_settings(), plugins, request)
    assert [r.status for r in again.results] == ["skipped"]
    kept = "".join(
        p.read_text(errors="replace") for p in codeforge_dirs["data"].rglob("*") if p.is_file()
    )
    assert "127.0.0.1:9" in kept and "tok3n" not in kept  # the state file and the journal
    # The kept plan is redacted, so it is not one to run from: a forced run plans again.
    assert '"exact": false' in kept

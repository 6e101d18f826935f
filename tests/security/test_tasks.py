"""Surface 7: tasks run only when trusted, as argv, with a minimal environment, in staging."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from codeforge.app.context import local_engine
from codeforge.core.engine import SDLCEngine
from codeforge.errors import SecurityError

PROBE = (
    "import json, os, sys; "
    "json.dump({'argv': sys.argv[1:], 'cwd': os.getcwd(), 'env': sorted(os.environ), "
    "'answers': os.environ.get('CODEFORGE_ANSWERS')}, open('probe.json', 'w'))"
)


def task_blueprint(blueprint: Callable[..., Path], marker: Path) -> Path:
    return blueprint(
        {
            "variables": {"word": "x"},
            "tasks": [
                [
                    sys.executable,
                    "-c",
                    PROBE,
                    "{{ word }}",
                    f"; touch {marker}",
                    f"$(touch {marker})",
                ],
                {
                    "command": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
                    "when": "{{ word == 'never' }}",
                },
            ],
        },
        {"a.txt": "a"},
    )


def test_tasks_do_not_run_without_trust(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    with pytest.raises(SecurityError, match="task") as info:
        engine.create_project(
            str(task_blueprint(blueprint, marker)), "p", output_dir=out, git=False
        )
    assert info.value.hint is not None and "--trust" in info.value.hint
    assert list(out.iterdir()) == []
    assert not marker.exists()


def test_trusted_tasks_run_as_argv_with_a_minimal_environment(
    engine: SDLCEngine,
    blueprint: Callable[..., Path],
    out: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODEFORGE_AI_API_KEY", "sk-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    marker = tmp_path / "marker"
    bp = task_blueprint(blueprint, marker)
    result = engine.create_project(
        str(bp), "p", output_dir=out, data={"word": "a b; $(id)"}, trust=True, git=False
    )
    probe = json.loads((result.destination / "probe.json").read_text())
    assert probe["argv"] == ["a b; $(id)", f"; touch {marker}", f"$(touch {marker})"]
    assert not marker.exists(), "no shell ran, and the `when: false` task was skipped"
    for name in (
        "CODEFORGE_AI_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "CODEFORGE_CONFIG_DIR",
    ):
        assert name not in probe["env"]
    assert json.loads(probe["answers"]) == {"word": "a b; $(id)"}
    cwd = Path(probe["cwd"])
    # the staging tree, named as the project, in the transaction's work folder beside it
    assert cwd.parent.parent == out and cwd.parent.name.startswith(".p.codeforge-")
    assert cwd.name == "p"
    assert not cwd.exists()
    assert [p.name for p in out.iterdir()] == ["p"]


def test_trusted_sources_in_config(
    blueprint: Callable[..., Path], out: Path, tmp_path: Path, codeforge_dirs: dict[str, Path]
) -> None:
    from codeforge.settings import load_settings

    marker = tmp_path / "marker"
    bp = task_blueprint(blueprint, marker)
    codeforge_dirs["config"].mkdir(parents=True)
    (codeforge_dirs["config"] / "config.toml").write_text(
        f"trusted_sources = [{str(bp.parent)!r}]\n"
    )
    result = local_engine(load_settings()).create_project(str(bp), "p", output_dir=out, git=False)
    assert (result.destination / "probe.json").exists()


def test_failing_task_leaves_nothing(
    engine: SDLCEngine, blueprint: Callable[..., Path], out: Path
) -> None:
    from codeforge.core.postprocess import TaskError

    bp = blueprint({"tasks": [[sys.executable, "-c", "import sys; sys.exit(3)"]]}, {"a.txt": "a"})
    with pytest.raises(TaskError, match="exited with 3"):
        engine.create_project(str(bp), "p", output_dir=out, trust=True, git=False)
    assert list(out.iterdir()) == []

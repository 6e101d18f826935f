"""``codeforge init NAME --describe TEXT`` end to end, on the real local model and with the AI off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import invoke
from click.testing import CliRunner

from codeforge.ai import local
from codeforge.app.context import local_engine

from .conftest import require_extras


def run_cli(*args: str) -> tuple[int, str]:
    """Exit code and output (stdout, then stderr)."""
    code, out, err = invoke(*args)
    return code, out + err


@pytest.fixture
def ai_off(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CODEFORGE_AI_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(local, "xllamacpp_available", lambda: False)


@pytest.fixture
def on_qwen(qwen_server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the AI settings at the session's Qwen server (no second start)."""
    require_extras()
    assert isinstance(qwen_server, local.LocalServer)
    monkeypatch.setenv("CODEFORGE_AI_BASE_URL", qwen_server.base_url)
    monkeypatch.setenv("CODEFORGE_AI_API_KEY", qwen_server.api_key)
    monkeypatch.setenv("CODEFORGE_AI_MODEL", qwen_server.model)


def test_describe_generates_like_a_normal_init(on_qwen: None, tmp_path: Path) -> None:
    code, out = run_cli(
        "init", "shop", "--describe", "a FastAPI service with PostgreSQL, Docker and GitHub CI",
        "--defaults", "--no-git", "-o", str(tmp_path), "--data", "license=BSD-3-Clause", "--json",
    )  # fmt: skip
    assert code == 0, out
    result = json.JSONDecoder().raw_decode(out)[0]
    assert result["blueprint"]["name"] == "web-fastapi"
    answers = result["answers"]
    assert answers["license"] == "BSD-3-Clause"  # explicit --data wins over the model
    assert answers["database"] in {"none", "sqlite", "postgresql"}
    assert answers["ci"] in {"github", "gitlab", "none"}
    assert isinstance(answers["use_docker"], bool)
    project = tmp_path / "shop"
    assert (project / "pyproject.toml").is_file()
    assert "BSD" in (project / "pyproject.toml").read_text()
    # The answers are the same a normal init with them as --data gives.
    pairs = [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in answers.items()]
    pairs = [p.replace("=true", "=yes").replace("=false", "=no") for p in pairs]
    args = [a for p in pairs if not p.startswith("description=") for a in ("--data", p)]
    code, out2 = run_cli(
        "init", "shop", "-t", "web-fastapi", "--defaults", "--no-git", "-o", str(tmp_path / "b"),
        "--json", *args,
    )  # fmt: skip
    assert code == 0, out2
    assert json.loads(out2)["answers"] == answers
    assert sorted(p.name for p in (tmp_path / "b" / "shop").rglob("*")) == sorted(
        p.name for p in project.rglob("*")
    )


def test_describe_with_a_given_template(on_qwen: None, tmp_path: Path) -> None:
    code, out = run_cli(
        "init", "tool", "-t", "cli-click", "--describe", "a command-line tool, MIT licensed",
        "--defaults", "--no-git", "--dry-run", "-o", str(tmp_path), "--json",
    )  # fmt: skip
    assert code == 0, out
    assert json.JSONDecoder().raw_decode(out)[0]["blueprint"]["name"] == "cli-click"
    assert not (tmp_path / "tool").exists()


def test_ai_off_is_exit_12_and_writes_nothing(ai_off: None, tmp_path: Path) -> None:
    code, out = run_cli(
        "init", "shop", "--describe", "a FastAPI service", "--defaults", "-o", str(tmp_path)
    )
    assert code == 12, out
    assert "AI is off" in out and "codeforge[ai-local]" in out
    assert list(tmp_path.iterdir()) == []


def test_no_template_and_no_description_is_a_usage_error(tmp_path: Path) -> None:
    code, out = run_cli("init", "shop", "--defaults", "-o", str(tmp_path))
    assert code == 2, out
    assert "--describe" in out
    assert list(tmp_path.iterdir()) == []


def test_without_a_terminal_the_answers_need_defaults(ai_off: None, tmp_path: Path) -> None:
    # Checked before any model call: the AI being off does not matter here.
    code, out = run_cli("init", "shop", "--describe", "a FastAPI service", "-o", str(tmp_path))
    assert code == 2, out
    assert "--defaults" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("reply", "code"), [("n\n", 14), ("y\n", 0)])
def test_interactive_confirmation(on_qwen: None, reply: str, code: int) -> None:
    import click

    from codeforge.cli.ai import describe_for_init
    from codeforge.settings import load_settings

    @click.command()
    def probe() -> None:
        ref, data = describe_for_init(
            local_engine(load_settings()), "a FastAPI web service", "shop", None, {}, confirm=True
        )
        click.echo(f"ACCEPTED {ref} {sorted(data)}")

    result = CliRunner().invoke(probe, input=reply)
    # A refusal is Declined (exit 14 through the CLI's error boundary); nothing ran after it.
    assert getattr(result.exception, "exit_code", result.exit_code) == code, result.output
    assert "Generate with these answers?" in result.output
    assert "blueprint:" in result.output
    assert ("ACCEPTED web-fastapi" in result.output) is (code == 0)

"""The CLI: version, help, exit codes per error class, init options, list/show/config/db."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cli_support import CODEFORGE

from codeforge import __version__
from codeforge.cli.main import run


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        run(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--version")
    assert code == 0 and out.strip() == f"codeforge, version {__version__}"


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--help")
    assert code == 0
    for command in ("init", "generate", "list", "show", "config", "db", "projects"):
        assert f"  {command} " in out


def test_subprocess_version_and_help() -> None:
    proc = subprocess.run([str(CODEFORGE), "--version"], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == f"codeforge {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "codeforge", "--help"], capture_output=True, text=True, check=True
    )
    assert "Commands" in proc.stdout and "init" in proc.stdout


@pytest.fixture
def bp(blueprint: Callable[..., Path]) -> Path:
    return blueprint(
        {
            "variables": {
                "port": {"type": "int", "default": 8000},
                "debug": {"type": "bool", "default": False},
                "tags": {"type": "list", "default": []},
                "meta": {"type": "dict", "default": {}},
                "ratio": {"type": "float", "default": 1.0},
            }
        },
        {
            "config.json": "{{ {'port': port, 'debug': debug, 'tags': tags, 'meta': meta, 'ratio': ratio} | to_json }}"
        },
    )


def errors_for(kind: str, blueprint: Callable[..., Path], out: Path, tmp_path: Path) -> list[str]:
    """Arguments that make `codeforge` fail with the error class ``kind``."""
    ok = blueprint({"variables": {"port": {"type": "int", "default": 1}}}, {"a.txt": "a"})
    base = ["init", "p", "-o", str(out), "--defaults", "--no-git"]
    if kind == "usage":
        return [*base, "-t", str(ok), "--data", "no-equals-sign"]
    if kind == "validation":
        return [*base, "-t", str(ok), "--data", "port=abc"]
    if kind == "conflict":
        (out / "p").mkdir(exist_ok=True)
        (out / "p" / "x").write_text("x")
        return [*base, "-t", str(ok)]
    if kind == "template":
        return [*base, "-t", str(blueprint({}, {"a.txt": "{{ nope }}"}))]
    if kind == "security":
        return [*base, "-t", str(blueprint({"variables": {"t": "../x"}}, {"{{ t }}": "a"}))]
    if kind == "blueprint":
        return [*base, "-t", str(blueprint("name: x\nversion: 1.0.0\ncolour: red\n"))]
    if kind == "not_found":
        return [*base, "-t", "no-such-blueprint"]
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "code", "fragment"),
    [
        ("usage", 2, "--data expects KEY=VALUE"),
        ("validation", 3, "variable 'port': expected an integer"),
        ("conflict", 4, "already exists and is not empty"),
        ("template", 5, "a.txt:1: undefined variable"),
        ("security", 6, "unsafe output path"),
        ("blueprint", 7, "blueprint.yaml:3: colour: unknown key"),
        ("not_found", 8, "no blueprint named 'no-such-blueprint'"),
    ],
)
def test_exit_codes_and_one_line_errors(
    capsys: pytest.CaptureFixture[str],
    blueprint: Callable[..., Path],
    out: Path,
    tmp_path: Path,
    kind: str,
    code: int,
    fragment: str,
) -> None:
    argv = errors_for(kind, blueprint, out, tmp_path)
    got, _, err = invoke(capsys, *argv)
    assert got == code
    lines = err.splitlines()
    assert lines[0].startswith("error: ") and fragment in lines[0]
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), err
    assert "Traceback" not in err

    got, _, err = invoke(capsys, "--debug", *argv)
    assert got == code
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith(("error: ", "hint: "))


def test_click_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(capsys, "init")
    assert code == 2 and "Missing argument 'NAME'" in err


def init_demo(
    capsys: pytest.CaptureFixture[str], bp: Path, out: Path, *extra: str
) -> tuple[int, str, str]:
    """``codeforge init demo -t BP -o OUT --defaults EXTRA...``"""
    return invoke(capsys, "init", "demo", "-t", str(bp), "-o", str(out), "--defaults", *extra)


def test_init_json(capsys: pytest.CaptureFixture[str], bp: Path, out: Path) -> None:
    code, stdout, _ = init_demo(capsys, bp, out, "--no-git", "--json")
    assert code == 0
    data = json.loads(stdout)
    assert data["destination"] == str(out / "demo")
    assert data["blueprint"] == {"name": "tiny", "version": "1.0.0", "source": str(bp)}
    assert data["answers"]["port"] == 8000
    assert "config.json" in data["files"] and data["dry_run"] is False
    assert data["commit"] is None and data["recorded"] is True


def test_init_dry_run_prints_a_tree_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], bp: Path, out: Path
) -> None:
    code, stdout, _ = init_demo(capsys, bp, out, "--dry-run")
    assert code == 0
    assert "dry run: nothing written" in " ".join(stdout.split())
    assert "config.json" in stdout and "create" in stdout
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_init_data_file(
    capsys: pytest.CaptureFixture[str], bp: Path, out: Path, tmp_path: Path, fmt: str
) -> None:
    values = {"port": 9000, "debug": True, "tags": ["a", "b"], "meta": {"k": 1}, "ratio": 0.25}
    data_file = tmp_path / f"answers.{fmt}"
    data_file.write_text(json.dumps(values) if fmt == "json" else yaml.safe_dump(values))
    code, _, err = init_demo(
        capsys, bp, out, "--no-git", "--data-file", str(data_file), "--data", "port=9001"
    )
    assert code == 0, err
    assert json.loads((out / "demo" / "config.json").read_text()) == {**values, "port": 9001}


def test_init_data_conversions(capsys: pytest.CaptureFixture[str], bp: Path, out: Path) -> None:
    data = ["port=8080", "debug=yes", "tags=x, y", 'meta={"a": [1]}', "ratio=2.5"]
    code, _, err = init_demo(
        capsys, bp, out, "--no-git", *(arg for value in data for arg in ("--data", value))
    )
    assert code == 0, err
    assert json.loads((out / "demo" / "config.json").read_text()) == {
        "port": 8080,
        "debug": True,
        "tags": ["x", "y"],
        "meta": {"a": [1]},
        "ratio": 2.5,
    }


def test_bad_data_file(
    capsys: pytest.CaptureFixture[str], bp: Path, out: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    code, _, err = init_demo(capsys, bp, out, "--data-file", str(bad))
    assert code == 2 and "must hold a mapping" in err


def test_list_templates_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = invoke(capsys, "list", "templates", "--json")
    assert code == 0
    names = {bp["name"] for bp in json.loads(stdout)}
    assert {"web-fastapi", "cli-click", "lib-python"} <= names


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = invoke(capsys, "show", "web-fastapi", "--json")
    assert code == 0
    info = json.loads(stdout)
    assert info["name"] == "web-fastapi" and info["source"] == "builtin:web-fastapi"
    assert "database" in {v["name"] for v in info["variables"]}
    assert "router" in info["components"]


def test_config_round_trip(
    capsys: pytest.CaptureFixture[str], codeforge_dirs: dict[str, Path]
) -> None:
    code, stdout, _ = invoke(capsys, "config", "path")
    assert code == 0 and stdout.strip() == str(codeforge_dirs["config"] / "config.toml")
    assert invoke(capsys, "config", "set", "author.name", "Ada")[0] == 0
    assert invoke(capsys, "config", "set", "render.max_files", "50")[0] == 0
    assert invoke(capsys, "config", "set", "defaults.license", "MIT")[0] == 0
    assert invoke(capsys, "config", "set", "ai.api_key", "sk-123")[0] == 0
    assert invoke(capsys, "config", "get", "author.name")[1].strip() == "Ada"
    assert invoke(capsys, "config", "get", "render.max_files")[1].strip() == "50"
    code, stdout, _ = invoke(capsys, "config", "list", "--json")
    listed = json.loads(stdout)
    assert listed["author.name"] == "Ada" and listed["defaults.license"] == "MIT"
    assert listed["ai.api_key"] == "********"
    assert invoke(capsys, "config", "unset", "author.name")[0] == 0
    code, _, err = invoke(capsys, "config", "get", "author.name")
    assert code == 2 and "is not set" in err
    code, _, err = invoke(capsys, "config", "set", "render.max_files", "many")
    assert code == 2 and "expects a int" in err
    code, _, err = invoke(capsys, "config", "set", "nonsense.key", "1")
    assert code == 2 and "unknown config key" in err


def test_env_author_over_config_file(
    capsys: pytest.CaptureFixture[str],
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    blueprint: Callable[..., Path],
) -> None:
    invoke(capsys, "config", "set", "author.name", "From Config")
    bp = blueprint(
        {"variables": {"author_name": {"default": ""}}}, {"AUTHORS": "{{ author_name }}"}
    )
    invoke(capsys, "init", "a", "-t", str(bp), "-o", str(out), "--defaults", "--no-git")
    assert (out / "a" / "AUTHORS").read_text() == "From Config"
    monkeypatch.setenv("CODEFORGE_AUTHOR_NAME", "From Env")
    invoke(capsys, "init", "b", "-t", str(bp), "-o", str(out), "--defaults", "--no-git")
    assert (out / "b" / "AUTHORS").read_text() == "From Env"
    code, _, _ = invoke(
        capsys,
        "init",
        "c",
        "-t",
        str(bp),
        "-o",
        str(out),
        "--defaults",
        "--no-git",
        "--data",
        "author_name=Flag",
    )
    assert code == 0 and (out / "c" / "AUTHORS").read_text() == "Flag"


def test_projects_are_recorded_listed_and_added(
    capsys: pytest.CaptureFixture[str], out: Path, codeforge_dirs: dict[str, Path]
) -> None:
    code, _, err = invoke(
        capsys, "init", "shop", "-t", "lib-python", "-o", str(out), "--defaults", "--no-git"
    )
    assert code == 0, err
    code, stdout, _ = invoke(capsys, "list", "projects", "--json")
    assert code == 0
    (project,) = json.loads(stdout)
    assert project["name"] == "shop" and project["path"] == str((out / "shop").resolve())
    assert project["blueprint_source"] == "builtin:lib-python"
    assert any(p.suffix in (".db", ".sqlite", ".sqlite3") for p in codeforge_dirs["data"].iterdir())

    code, stdout, _ = invoke(capsys, "db", "upgrade")
    assert code == 0 and "revision" in stdout

    # A project copied elsewhere is registered from its answers file.
    other = out / "copy"
    import shutil

    shutil.copytree(out / "shop", other)
    code, stdout, err = invoke(capsys, "projects", "add", str(other))
    assert code == 0, err
    assert "Recorded shop" in stdout
    code, stdout, _ = invoke(capsys, "projects", "list", "--json")
    assert {p["path"] for p in json.loads(stdout)} == {
        str((out / "shop").resolve()),
        str(other.resolve()),
    }


def test_generate_command(capsys: pytest.CaptureFixture[str], out: Path) -> None:
    assert (
        invoke(
            capsys, "init", "api", "-t", "web-fastapi", "-o", str(out), "--defaults", "--no-git"
        )[0]
        == 0
    )
    code, stdout, err = invoke(
        capsys, "generate", "router", "orders", "-C", str(out / "api"), "--defaults", "--json"
    )
    assert code == 0, err
    data = json.loads(stdout)
    assert data["component"] == "router" and data["added"]
    code, _, err = invoke(
        capsys, "generate", "router", "orders", "-C", str(out / "api"), "--defaults"
    )
    assert code == 4 and err.startswith("error: ")


def test_subprocess_init_end_to_end(tmp_path: Path, codeforge_dirs: dict[str, Path]) -> None:
    def init() -> subprocess.CompletedProcess[str]:
        argv = ["init", "e2e", "-t", "cli-click", "-o", str(tmp_path / "o"), "--defaults"]
        return subprocess.run(
            [str(CODEFORGE), *argv],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )

    proc = init()
    assert proc.returncode == 0, proc.stderr
    assert "Created" in proc.stdout
    assert (tmp_path / "o" / "e2e" / ".codeforge-answers.yml").exists()
    proc = init()
    assert proc.returncode == 4
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr

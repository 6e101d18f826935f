"""One catalog for every AI path, through the console script: ``ai recommend``, ``ai describe``
and ``init --describe`` rank the blueprints the user can generate from (``--catalog`` folders in
YAML and TOML, built-ins, plugins, registered)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api.test_registry import TEMPLATE, make_zip
from cli_support import console
from postgres_support import reset_engines

from codeforge.ai import local

from .conftest import require_extras

require_extras()

HASKELL_TOML = """name = "haskell-web"
version = "0.1.0"
description = "A Haskell web service on Servant with a Stack build."
tags = ["haskell", "servant", "web"]

[variables.port]
type = "int"
help = "HTTP port"
default = 8080
"""
KOTLIN_YAML = """name: kotlin-android
version: 0.1.0
description: An Android phone app in Kotlin with Jetpack Compose.
tags: [kotlin, android, mobile]
"""


def make_catalog(root: Path) -> Path:
    """A catalog folder: one TOML blueprint, one YAML blueprint, one folder that is neither."""
    for name, definition, text in (
        ("haskell-web", "blueprint.toml", HASKELL_TOML),
        ("kotlin-android", "blueprint.yaml", KOTLIN_YAML),
    ):
        (root / name / "template").mkdir(parents=True)
        (root / name / definition).write_text(text)
        (root / name / "template" / "README.md.jinja").write_text("# {{ project_name }}\n")
    (root / "notes").mkdir()
    return root


@pytest.fixture
def home(tmp_path: Path, ai_cache: Path) -> dict[str, str]:
    """The environment of a user with their own data, config and cache folders."""
    return {
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
        "CODEFORGE_CACHE_DIR": str(ai_cache),
    }


def recommend(query: str, env: dict[str, str], *extra: str) -> list[str]:
    done = console("ai", "recommend", query, "--json", "--top", "50", *extra, env=env)
    assert done.returncode == 0, done.stderr
    return [r["name"] for r in json.loads(done.stdout)]


def test_recommend_ranks_catalog_toml_and_yaml_with_the_built_ins(
    tmp_path: Path, home: dict[str, str]
) -> None:
    cat = make_catalog(tmp_path / "cat")
    names = recommend("a Haskell web API with Servant", home, "--catalog", str(cat))
    assert names[0] == "haskell-web"  # the TOML blueprint, skipped before
    assert {"kotlin-android", "cli-click", "lib-python", "web-fastapi"} <= set(names)
    assert "notes" not in names
    assert recommend("python command line tool with click", home)[0] == "cli-click"


def test_recommend_sees_registered_blueprints(home: dict[str, str]) -> None:
    from codeforge.app import register
    from codeforge.app.context import build_context
    from codeforge.db.repositories import create_user
    from codeforge.settings import load_settings

    settings = load_settings(env=home)
    try:
        ctx = build_context(settings)
        with ctx.factory.begin() as session:
            actor = register.Actor(create_user(session, "maya", "maintainer").id, "maya")
        register.register_archive(ctx, actor, make_zip(TEMPLATE))
    finally:
        reset_engines()
    assert "team-lib" in recommend("a team library", home)


def test_a_catalog_without_blueprints_is_exit_8(tmp_path: Path, home: dict[str, str]) -> None:
    (tmp_path / "empty").mkdir()
    done = console("ai", "recommend", "x", "--catalog", str(tmp_path / "empty"), env=home)
    assert done.returncode == 8
    assert "no blueprints found" in done.stderr and "empty" in done.stderr


def test_init_catalog_needs_describe(tmp_path: Path, home: dict[str, str]) -> None:
    cat = make_catalog(tmp_path / "cat")
    done = console("init", "x", "-t", "cli-click", "--catalog", str(cat), env=home)
    assert done.returncode == 2
    assert "--describe" in done.stderr
    assert not (tmp_path / "x").exists()


@pytest.fixture
def on_qwen(qwen_server: object, home: dict[str, str]) -> dict[str, str]:
    assert isinstance(qwen_server, local.LocalServer)
    return {
        **home,
        "CODEFORGE_AI_BASE_URL": qwen_server.base_url,
        "CODEFORGE_AI_API_KEY": qwen_server.api_key,
        "CODEFORGE_AI_MODEL": qwen_server.model,
    }


def test_describe_prints_dropped_and_how_to_use_the_choice(
    tmp_path: Path, on_qwen: dict[str, str]
) -> None:
    cat = make_catalog(tmp_path / "cat")
    done = console(
        "ai", "describe", "a Haskell web service with Servant on port 9090",
        "--catalog", str(cat), env=on_qwen,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["blueprint"] == "haskell-web"
    assert result["use"] == str((cat / "haskell-web").resolve())
    assert isinstance(result["dropped"], dict)
    assert set(result) == {"blueprint", "version", "use", "answers", "dropped"}


def test_init_describe_generates_from_a_toml_catalog_blueprint(
    tmp_path: Path, on_qwen: dict[str, str]
) -> None:
    cat = make_catalog(tmp_path / "cat")
    done = console(
        "init", "hs", "--describe", "a Haskell web service with Servant",
        "--catalog", str(cat), "--defaults", "--no-git", "-o", str(tmp_path / "out"), "--json",
        env=on_qwen,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["blueprint"]["name"] == "haskell-web"
    assert (tmp_path / "out" / "hs" / "README.md").read_text() == "# hs\n"


def test_the_standalone_loader_reads_toml_too(tmp_path: Path) -> None:
    from codeforge.ai.catalog import load_catalog

    cat = make_catalog(tmp_path / "cat")
    entries = load_catalog([cat])
    assert [e.name for e in entries] == ["haskell-web", "kotlin-android"]
    assert entries[0].variables[0].name == "port"

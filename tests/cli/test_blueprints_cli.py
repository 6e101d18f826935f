"""``codeforge blueprints feature|deprecate``: the maintainers' marks from the CLI, on the
configured database (the local SQLite file, or ``CODEFORGE_DATABASE_URL``), with the API's
checks, its activity row, and the CLI's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from cli_support import console, invoke
from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity
from codeforge.settings import load_settings


def _activity(url: str) -> list[tuple[str | None, str, dict[str, Any]]]:
    with session_factory(url)() as session:
        rows = session.scalars(
            select(Activity).where(Activity.action == "blueprint.listing").order_by(Activity.id)
        )
        return [(row.actor, row.target, row.details) for row in rows]


def _marks() -> dict[str, tuple[bool, bool, str | None]]:
    code, out, err = invoke("list", "blueprints", "--json")
    assert code == 0, err
    return {r["name"]: (r["featured"], r["deprecated"], r["replacement"]) for r in json.loads(out)}


def test_the_console_script_marks_and_init_warns(
    codeforge_dirs: dict[str, Path], tmp_path: Path
) -> None:
    featured = console("blueprints", "feature", "cli-click")
    deprecated = console("blueprints", "deprecate", "lib-python", "--replacement", "web-fastapi")
    table = console("list", "blueprints", env={"COLUMNS": "250"})
    init = console("init", "old", "-t", "lib-python", "--defaults", "--no-git", "-o", str(tmp_path))

    assert (featured.returncode, featured.stdout) == (0, "cli-click is now featured.\n")
    assert deprecated.returncode == 0, deprecated.stderr
    assert deprecated.stdout == "lib-python is now deprecated; use web-fastapi instead.\n"
    assert "deprecated: use web-fastapi" in table.stdout and "featured" in table.stdout
    assert "blueprint lib-python is deprecated; use web-fastapi instead" in init.stderr
    assert _activity(load_settings().store_url) == [
        (None, "blueprint:cli-click", {"featured": True}),
        (None, "blueprint:lib-python", {"deprecated": True, "replacement": "web-fastapi"}),
    ]


def test_bad_input_exit_codes_and_nothing_changes(codeforge_dirs: dict[str, Path]) -> None:
    missing = console("blueprints", "feature", "no-such")
    gone = console("blueprints", "deprecate", "lib-python", "--replacement", "no-such")
    bad = console("blueprints", "deprecate", "lib-python", "--replacement", "<b>Bad</b>")
    itself = console("blueprints", "deprecate", "lib-python", "--replacement", "lib-python")
    neither = console("blueprints", "deprecate", "lib-python")
    both = console("blueprints", "deprecate", "lib-python", "--replacement", "x", "--clear")

    assert missing.returncode == 8 and "no blueprint named no-such" in missing.stderr
    assert gone.returncode == 8 and "replacement: no blueprint named no-such" in gone.stderr
    assert bad.returncode == 3 and "'<b>Bad</b>' is not a blueprint name" in bad.stderr
    assert itself.returncode == 3 and "lib-python cannot replace itself" in itself.stderr
    assert neither.returncode == both.returncode == 2
    assert "give either --replacement OTHER or --clear" in neither.stderr
    assert _marks()["lib-python"] == (False, False, None)
    assert _activity(load_settings().store_url) == []


def test_off_and_clear_undo_the_marks(codeforge_dirs: dict[str, Path]) -> None:
    assert invoke("blueprints", "feature", "web-fastapi")[0] == 0
    assert invoke("blueprints", "deprecate", "web-fastapi", "--replacement", "cli-click")[0] == 0
    assert _marks()["web-fastapi"] == (True, True, "cli-click")

    off = invoke("blueprints", "feature", "web-fastapi", "--off")
    clear = invoke("blueprints", "deprecate", "web-fastapi", "--clear")

    assert off == (0, "web-fastapi is no longer featured.\n", "")
    assert clear == (0, "web-fastapi is no longer deprecated.\n", "")
    assert _marks()["web-fastapi"] == (False, False, None)
    assert [details for _, _, details in _activity(load_settings().store_url)][2:] == [
        {"featured": False},
        {"deprecated": False, "replacement": None},
    ]
    listed = invoke("blueprints", "list", "--json")
    assert listed[0] == 0 and {r["name"] for r in json.loads(listed[1])} >= {"web-fastapi"}


def test_the_server_database_and_its_registered_names(
    codeforge_dirs: dict[str, Path], tmp_path: Path, monkeypatch: Any
) -> None:
    """With CODEFORGE_DATABASE_URL the marks go to the server's database, and a blueprint
    registered there (not on this machine) can be marked and named as a replacement."""
    from codeforge.db.migrate import ensure_schema
    from codeforge.db.repositories import register_blueprint

    url = f"sqlite:///{tmp_path / 'server.db'}"
    ensure_schema(url)
    with session_factory(url).begin() as session:
        register_blueprint(session, "team-api", "1.0.0", "git+https://example.org/t.git@v1")
    monkeypatch.setenv("CODEFORGE_DATABASE_URL", url)

    code, _, err = invoke("blueprints", "deprecate", "lib-python", "--replacement", "team-api")
    assert code == 0, err
    assert invoke("blueprints", "feature", "team-api")[0] == 0

    assert _marks()["lib-python"] == (False, True, "team-api")
    assert [target for _, target, _ in _activity(url)] == [
        "blueprint:lib-python",
        "blueprint:team-api",
    ]
    local = Path(str(codeforge_dirs["data"])) / "codeforge.db"
    assert not local.exists()  # the local file was never made


def test_blueprints_help_imports_no_database() -> None:
    code = (
        "import sys\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        "    run(['blueprints', 'deprecate', '--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert "--replacement OTHER" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "False"

"""The marketplace in the CLI: ``codeforge groups``, ``codeforge list blueprints`` with the
featured/deprecated marks and stars, and ``init``'s warning naming the replacement."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import console, invoke

from codeforge.db import marketplace
from codeforge.db.engine import session_factory
from codeforge.db.migrate import ensure_schema
from codeforge.db.repositories import create_user
from codeforge.settings import load_settings


def test_groups_commands_manage_members(codeforge_dirs: dict[str, Path]) -> None:
    assert invoke("users", "create", "ann")[0] == 0
    assert invoke("groups", "create", "team") == (0, "Created group team.\n", "")
    assert invoke("groups", "add", "team", "ann")[1] == "Added ann to team.\n"
    code, out, _ = invoke("groups", "list", "--json")
    assert (code, json.loads(out)) == (0, [{"name": "team", "members": ["ann"]}])

    duplicate = console("groups", "create", "team")  # the real script: its exit codes
    ghost = console("groups", "add", "team", "ghost")
    bad = console("groups", "create", "Bad Name")
    missing = console("groups", "delete", "nope")

    assert duplicate.returncode == 4 and "group 'team' already exists" in duplicate.stderr
    assert ghost.returncode == 8 and "no user named 'ghost'" in ghost.stderr
    assert bad.returncode == 3 and "invalid group name 'Bad Name'" in bad.stderr
    assert missing.returncode == 8 and "no group named 'nope'" in missing.stderr
    assert invoke("groups", "list")[1] == "team: ann\n"
    assert invoke("groups", "remove", "team", "ann")[0] == 0
    assert invoke("groups", "list")[1] == "team: (no members)\n"
    assert invoke("groups", "delete", "team")[0] == 0
    assert json.loads(invoke("groups", "list", "--json")[1]) == []


def test_list_blueprints_without_a_database_creates_none(codeforge_dirs: dict[str, Path]) -> None:
    code, out, _ = invoke("list", "blueprints", "--json")

    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["lib-python"]["deprecated"] is False and rows["lib-python"]["stars"] == 0
    assert not Path(load_settings().store_url.removeprefix("sqlite:///")).exists()


def _mark(url: str) -> None:
    ensure_schema(url)
    with session_factory(url).begin() as session:
        old = marketplace.ensure_listing(session, "lib-python", None)
        old.deprecated, old.replacement = True, "web-fastapi"
        marketplace.ensure_listing(session, "cli-click", None).featured = True
        ann = create_user(session, "ann", "member")
        marketplace.set_star(session, ann.id, "cli-click", True)


def test_list_blueprints_and_init_show_the_deprecation(
    codeforge_dirs: dict[str, Path], tmp_path: Path
) -> None:
    _mark(load_settings().store_url)

    rows = {r["name"]: r for r in json.loads(invoke("list", "blueprints", "--json")[1])}
    table = console("list", "blueprints", env={"COLUMNS": "250"})
    old = console("init", "old", "-t", "lib-python", "--defaults", "--no-git", "-o", str(tmp_path))
    new = console("init", "new", "-t", "cli-click", "--defaults", "--no-git", "-o", str(tmp_path))

    assert (rows["lib-python"]["deprecated"], rows["lib-python"]["replacement"]) == (
        True,
        "web-fastapi",
    )
    assert (rows["cli-click"]["featured"], rows["cli-click"]["stars"]) == (True, 1)
    assert table.returncode == 0
    assert "deprecated: use web-fastapi" in table.stdout and "featured" in table.stdout
    assert old.returncode == 0, old.stderr
    assert "warning: blueprint lib-python is deprecated; use web-fastapi instead" in old.stderr
    assert (tmp_path / "old").is_dir()
    assert new.returncode == 0 and "deprecated" not in new.stderr


def test_init_reads_the_deprecation_without_sqlalchemy(
    codeforge_dirs: dict[str, Path], tmp_path: Path
) -> None:
    """``init`` is a hot path: the embedded database is read with the standard library."""
    import subprocess
    import sys

    _mark(load_settings().store_url)
    code = (
        "import sys\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        f"    run(['init', 'x', '-t', 'lib-python', '--defaults', '--no-git', '-o', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print('sqlalchemy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert done.stdout.strip().splitlines()[-1] == "False"
    assert "lib-python is deprecated; use web-fastapi instead" in done.stderr

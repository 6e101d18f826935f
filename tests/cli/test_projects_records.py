"""``codeforge projects remove ID|PATH`` and ``projects prune``, through the console script.

Only records go, never files; prune asks first (on a terminal), refuses to guess
without one, and ``--yes`` skips the question.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cli_support import Terminal, console


def _init(out: Path, name: str) -> Path:
    done = console("init", name, "-t", "lib-python", "-o", str(out), "--defaults", "--no-git")
    assert done.returncode == 0, done.stderr
    return (out / name).resolve()


def _listed() -> dict[str, int]:
    done = console("projects", "list", "--json")
    assert done.returncode == 0, done.stderr
    return {p["path"]: p["id"] for p in json.loads(done.stdout)}


def _on_a_terminal(answer: str, *args: str) -> tuple[int, str]:
    """Run ``codeforge ARGS`` on a pseudo-terminal, answer its question, return (code, output)."""
    term = Terminal(list(args))
    term.wait_for("[y/N]")
    term.reply(answer)
    code = term.finish()
    return code, term.seen.replace("\r\n", "\n")


def test_remove_by_id_and_by_path_keeps_the_files(out: Path) -> None:
    first, second = _init(out, "first"), _init(out, "second")
    ids = _listed()
    removed = console("projects", "remove", str(ids[str(first)]))
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == f"Removed the record of first (id {ids[str(first)]}) at {first}.\n"
    assert (first / "pyproject.toml").is_file()  # only the record went
    shutil.rmtree(second)  # a folder that is gone is still found by its path
    by_path = console("projects", "remove", str(second))
    assert by_path.returncode == 0, by_path.stderr
    assert _listed() == {}


def test_remove_of_an_unknown_record_is_exit_8(out: Path) -> None:
    kept = _init(out, "kept")
    for ref in ("999999", str(out / "nowhere")):
        missing = console("projects", "remove", ref)
        assert missing.returncode == 8, missing.stderr
        assert f"error: no recorded project with id or path {ref!r}" in missing.stderr
        assert "hint: see `codeforge projects list`" in missing.stderr
    assert list(_listed()) == [str(kept)]


def test_prune_asks_then_removes_only_records_whose_folder_is_gone(out: Path) -> None:
    kept, gone, also_gone = _init(out, "kept"), _init(out, "gone"), _init(out, "also-gone")
    shutil.rmtree(gone)
    shutil.rmtree(also_gone)

    # No terminal and no --yes: it cannot ask, so it refuses (exit 2) and removes nothing.
    blind = console("projects", "prune", input="")
    assert blind.returncode == 2, blind.stderr
    assert "no terminal to confirm" in blind.stderr and "--yes" in blind.stderr
    assert len(_listed()) == 3

    code, output = _on_a_terminal("n", "projects", "prune")
    assert code == 14, output
    assert f"{gone} (missing)" in output and str(kept) not in output
    assert "nothing removed: the prune was declined" in output
    assert len(_listed()) == 3

    code, output = _on_a_terminal("y", "projects", "prune")
    assert code == 0, output
    assert "Removed 2 record(s); no files were touched." in output
    assert list(_listed()) == [str(kept)]

    again = console("projects", "prune")
    assert (again.returncode, again.stdout) == (0, "No recorded project has lost its folder.\n")


def test_prune_yes_skips_the_question(out: Path) -> None:
    gone = _init(out, "gone")
    shutil.rmtree(gone)
    done = console("projects", "prune", "--yes", input="")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("Removed 1 record(s); no files were touched.\n")
    assert _listed() == {}

"""Run cookiecutter, copier and CodeForge on the same template and compare the trees."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from codeforge.app.context import local_engine
from codeforge.core.answersfile import ANSWERS_FILE
from codeforge.core.engine import CreateResult

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "compat"


COOKIECUTTER_CASES: list[tuple[str, dict[str, Any]]] = [
    ("cc-basic", {}),
    (
        "cc-basic",
        {
            "project_name": "Other Thing",
            "license": "{{ cookiecutter.author }} proprietary",
            "use_docker": "no",
            "use_ci": True,
            "workers": 8,
            "ci": {"provider": "gitlab", "extra": {"nested": 1}},
        },
    ),
    ("cc-basic", {"license": "Apache-2.0", "author": "Grace Hopper", "project_slug": "custom"}),
    ("cc-hooks", {}),
    ("cc-hooks", {"license": "none", "project_name": "Second Try"}),
    ("cc-extensions", {"repo": "other-repo", "items": "x,y"}),
]


COPIER_CASES: list[tuple[str, dict[str, Any]]] = [
    ("cp-basic", {}),
    (
        "cp-basic",
        {
            "project_name": "Another One",
            "workers": 9,
            "ratio": "2.5",
            "use_docker": False,
            "license": "MIT",
            "database": "postgres",
            "features": ["api", "web"],
            "settings": '{"debug": true}',
            "extra": "owner: me\ntags: [x]",
            "api_token": "other-secret",
        },
    ),
    ("cp-basic", {"use_docker": "no", "features": ["web", "api", "cli"], "workers": "12"}),
    ("cp-basic", {"python": "3.11", "runtime": "podman", "db_password": "x"}),
    ("cp-subdir", {}),
    ("cp-subdir", {"name": "other", "with_tests": True}),
    ("cp-tasks", {}),
    ("cp-tasks", {"name": "second", "make_extra": False}),
]


def fixture(name: str, tmp_path: Path) -> Path:
    """A private copy of a fixture template (tools may write next to it)."""
    target = tmp_path / "templates" / name
    shutil.copytree(FIXTURES / name, target, symlinks=True)
    return target.resolve()


def run_cookiecutter(
    template: Path, out: Path, extra: dict[str, Any] | None = None, *, hooks: bool = True
) -> Path:
    from cookiecutter.main import cookiecutter

    out.mkdir(parents=True, exist_ok=True)
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            extra_context=extra,
            output_dir=str(out),
            default_config=True,
            accept_hooks=hooks,
        )
    )


def run_copier(template: Path, dest: Path, data: dict[str, Any] | None = None) -> Path:
    import copier

    copier.run_copy(
        str(template), str(dest), data=data or {}, defaults=True, unsafe=True, quiet=True
    )
    return dest


def run_codeforge(
    template: Path,
    out: Path,
    data: dict[str, Any] | None = None,
    *,
    name: str = "proj",
    trust: bool = True,
) -> tuple[Path, CreateResult]:
    result = local_engine().create_project(
        str(template), name, output_dir=out, data=data, git=False, trust=trust
    )
    return out / name, result


def snapshot(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, tuple[str, bytes, bool]]:
    """Every entry under ``root``: kind, bytes (files; a link's target), executable bit."""
    entries: dict[str, tuple[str, bytes, bool]] = {}
    for path in sorted(root.rglob("*")):  # rglob does not descend into linked folders
        rel = path.relative_to(root).as_posix()
        if rel in skip:
            continue
        if path.is_symlink():
            entries[rel] = ("link", os.readlink(path).encode(), False)
        elif path.is_dir():
            entries[rel + "/"] = ("dir", b"", False)
        else:
            entries[rel] = ("file", path.read_bytes(), os.access(path, os.X_OK))
    return entries


def assert_same_tree(reference: Path, ours: Path) -> int:
    """Byte-identical trees; CodeForge's own answers file is the one allowed extra.

    CodeForge writes ``.codeforge-answers.yml`` into every project it makes (it is
    what ``codeforge update`` starts from); neither cookiecutter nor copier knows it,
    so the comparison leaves out exactly that one file.
    """
    ref = snapshot(reference)
    got = snapshot(ours, skip=(ANSWERS_FILE,))
    assert (ours / ANSWERS_FILE).is_file()
    assert sorted(got) == sorted(ref), (
        f"only in the reference: {sorted(set(ref) - set(got))}; "
        f"only in CodeForge's: {sorted(set(got) - set(ref))}"
    )
    for rel, (kind, data, executable) in ref.items():
        assert got[rel][0] == kind, rel
        assert got[rel][1] == data, f"{rel}: {data[:200]!r} != {got[rel][1][:200]!r}"
        assert got[rel][2] == executable, f"{rel}: executable bit differs"
    return len(ref)

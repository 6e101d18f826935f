"""Every hook is named codeforge_*, documented in docs/plugins.md, and called and tested
unless its docstring says it is a spec for a later issue (the datasette habit)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from codeforge.plugins import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "codeforge_spec")
)
DOC = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")


def spec_only(name: str) -> bool:
    return "spec only" in (getattr(hookspecs, name).__doc__ or "")


def text_outside(folder: Path, skip: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.py") if p != skip)


def test_the_hooks_the_issue_names_exist() -> None:
    wanted = {
        "codeforge_register_commands",
        "codeforge_api_routers",
        "codeforge_blueprint_sources",
        "codeforge_dialects",
        "codeforge_jinja_filters",
        "codeforge_jinja_tests",
        "codeforge_jinja_globals",
        "codeforge_post_processors",
        "codeforge_formatters",
        "codeforge_job_kinds",
        "codeforge_before_render",
        "codeforge_after_generate",
        "codeforge_after_update",
        "codeforge_after_publish",
        "codeforge_forges",
        "codeforge_ci_providers",
        "codeforge_deploy_targets",
        "codeforge_credential_stores",
        "codeforge_artifact_stores",
        "codeforge_ai_providers",
    }
    assert wanted <= set(HOOKS)


@pytest.mark.parametrize("name", HOOKS)
def test_each_hook_is_documented(name: str) -> None:
    assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"
    heading = re.compile(rf"^#### .*`{name}\(", re.M)
    assert heading.search(DOC), f"docs/plugins.md has no '#### `{name}(...)`' section"


@pytest.mark.parametrize("name", [h for h in HOOKS if not spec_only(h)])
def test_each_wired_hook_is_called_and_tested(name: str) -> None:
    source = text_outside(ROOT / "src" / "codeforge", Path(hookspecs.__file__))
    assert f'"{name}"' in source, f"nothing in src calls {name}"
    tests = text_outside(ROOT / "tests", Path(__file__))
    fixture = text_outside(ROOT / "tests" / "fixtures", Path(__file__))
    assert name in tests + fixture, f"no test implements or calls {name}"

"""The documentation site builds with ``mkdocs build --strict``: no broken link, no page
left out of the nav, the CLI reference from Click and the API reference from the app."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci_support import skip_unless_ci

ROOT = Path(__file__).resolve().parent.parent


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        skip_unless_ci("mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "NO_MKDOCS_2_WARNING": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", out)
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    return out


def test_every_page_in_docs_is_built(site: Path) -> None:
    for page in sorted((ROOT / "docs").glob("*.md")):
        target = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        assert (site / target).is_file(), f"docs/{page.name} is not on the site"


def test_the_cli_reference_comes_from_click(site: Path) -> None:
    from codeforge.cli.main import COMMANDS

    html = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for name in ("init", "serve", "worker", "db"):
        assert name in COMMANDS
        assert f"codeforge {name}" in html, f"the CLI reference lacks `codeforge {name}`"


def test_the_api_reference_comes_from_the_openapi_document(site: Path) -> None:
    document = json.loads((site / "openapi.json").read_text(encoding="utf-8"))
    html = (site / "api-reference" / "index.html").read_text(encoding="utf-8")
    # path parameters are wrapped: /jobs/<span class="route-param">{id}</span>
    html = re.sub(r'<span class="route-param">(\{\w+\})</span>', r"\1", html)
    assert document["info"]["title"] == "CodeForge"
    paths = [p for p in document["paths"] if p.startswith("/api/v1/")]
    assert len(paths) >= 10
    for path in paths:
        assert path in html, f"the API reference lacks {path}"


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The strict build is what catches broken links: a page with one does not build."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Home\n\nSee [the guide](missing.md).\n", encoding="utf-8")
    config = tmp_path / "mkdocs.yml"
    main = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    validation = main[main.index("validation:") : main.index("nav:")]
    config.write_text(
        f"site_name: t\ndocs_dir: docs\ntheme:\n  name: material\n{validation}", encoding="utf-8"
    )
    result = build(config, tmp_path / "site")
    assert result.returncode != 0
    assert "missing.md" in result.stderr

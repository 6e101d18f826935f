"""Plugin blueprints: a real package installed with pip, and the entry-point contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from plugin_support import pip_install_fixture

from codeforge.app.context import local_engine
from codeforge.core.engine import SilentReporter
from codeforge.errors import BlueprintError, NotFoundError, UsageError
from codeforge.sources import resolve_source, source_label


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/fixtures/sample_plugin built and installed with pip into a --target folder."""
    site = pip_install_fixture("sample_plugin", tmp_path_factory.mktemp("sample-plugin"))
    assert list(site.glob("codeforge_sample_plugin-0.3.1.dist-info"))
    return site


def codeforge(site: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "codeforge", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_a_project_from_an_installed_plugin(plugin_site: Path, out: Path) -> None:
    proc = codeforge(
        plugin_site, "init", "svc", "-t", "sample-service", "--defaults", "--no-git", "-o", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    project = out / "svc"
    assert (project / "service.py").read_text() == "PORT = 8080\n"
    assert "# svc" in (project / "README.md").read_text()
    recorded = yaml.safe_load((project / ".codeforge-answers.yml").read_text())["blueprint"]
    assert recorded == {
        "name": "sample-service",
        "version": "0.3.1",
        "source": "plugin:sample-service",
    }

    proc = codeforge(
        plugin_site,
        "init",
        "svc2",
        "-t",
        "plugin:sample-service",
        "--defaults",
        "--no-git",
        "--data",
        "port=9000",
        "-o",
        str(out),
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "svc2" / "service.py").read_text() == "PORT = 9000\n"


def test_listing_shows_plugins_and_names_broken_ones(plugin_site: Path) -> None:
    proc = codeforge(plugin_site, "list", "templates", "--json")
    assert proc.returncode == 0, proc.stderr
    listed = {bp["name"]: bp for bp in json.loads(proc.stdout)}
    assert listed["sample-service"]["use"] == "plugin:sample-service"
    assert listed["web-fastapi"]["use"] == "web-fastapi"
    assert "sample-broken" in proc.stderr
    assert "codeforge-sample-plugin 0.3.1" in proc.stderr
    assert "codeforge_sample_plugin:no_such_attribute" in proc.stderr


def test_a_broken_plugin_is_a_clear_error(plugin_site: Path, out: Path) -> None:
    proc = codeforge(
        plugin_site, "init", "x", "-t", "plugin:sample-broken", "--defaults", "-o", str(out)
    )
    assert proc.returncode == BlueprintError.exit_code
    assert "entry point 'sample-broken'" in proc.stderr
    assert "codeforge-sample-plugin 0.3.1" in proc.stderr
    assert "AttributeError" in proc.stderr
    proc = codeforge(
        plugin_site,
        "init",
        "x",
        "-t",
        "sample-service",
        "--vcs-ref",
        "v1",
        "--defaults",
        "-o",
        str(out),
    )
    assert proc.returncode == UsageError.exit_code
    assert list(out.iterdir()) == []


def test_without_the_package_the_name_is_unknown(out: Path) -> None:
    proc = codeforge(None, "init", "x", "-t", "plugin:sample-service", "--defaults", "-o", str(out))
    assert proc.returncode == NotFoundError.exit_code
    assert "no plugin blueprint named 'sample-service'" in proc.stderr


# -- the contract, with distributions written into a folder on sys.path -----------------------


def install_fake(site: Path, dist: str, entry_points: dict[str, str], module: str = "") -> None:
    """A real (if hand-written) installed distribution: dist-info + a module."""
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = ["[codeforge.blueprints]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    if module:
        (site / f"{dist.replace('-', '_')}.py").write_text(module)


def test_entry_point_forms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blueprint: object
) -> None:
    from blueprint_factory import make_blueprint

    folder = make_blueprint(tmp_path / "bp", {"name": "fancy"}, {"a.txt": "a"})
    package = make_blueprint(tmp_path / "site" / "fancy_pkg", {"name": "pkg"}, {"b.txt": "b"})
    (package / "__init__.py").write_text("")
    site = tmp_path / "site"
    install_fake(
        site,
        "fancy-blueprints",
        {
            "as-str": "fancy_blueprints:AS_STR",
            "as-path": "fancy_blueprints:AS_PATH",
            "as-function": "fancy_blueprints:as_function",
            "as-package": "fancy_pkg",
            "relative": "fancy_blueprints:RELATIVE",
            "not-a-path": "fancy_blueprints:NUMBER",
            "missing-folder": "fancy_blueprints:MISSING",
            "raises": "fancy_blueprints:boom",
            "Bad Name": "fancy_blueprints:AS_STR",
        },
        module=(
            "from pathlib import Path\n"
            f"AS_STR = {str(folder)!r}\n"
            f"AS_PATH = Path({str(folder)!r})\n"
            f"def as_function():\n    return AS_PATH\n"
            "RELATIVE = 'bp'\n"
            "NUMBER = 42\n"
            f"MISSING = {str(tmp_path / 'gone')!r}\n"
            "def boom():\n    raise RuntimeError('kaput')\n"
        ),
    )
    install_fake(site, "other-dist", {"as-str": "other_dist:X"}, module="X = '/'\n")
    install_fake(site, "third-dist", {"third": "third_dist:X"}, module=f"X = {str(folder)!r}\n")
    monkeypatch.syspath_prepend(str(site))
    for name in ("as-path", "as-function"):
        resolved = resolve_source(name, allow_local=False, trust=False)
        assert (resolved.kind, resolved.path, resolved.source, resolved.trusted) == (
            "plugin",
            folder.resolve(),
            f"plugin:{name}",
            False,
        )
    assert (
        resolve_source("plugin:as-package", allow_local=False, trust=False).path
        == package.resolve()
    )
    assert resolve_source(
        "plugin:third", allow_local=False, trust=False, trusted_prefixes=["plugin:third"]
    ).trusted
    assert source_label(package) == "plugin:as-package"
    for name, message in (
        ("as-str", "installed by several packages"),
        ("relative", "relative path"),
        ("not-a-path", "gives a int, not a folder path"),
        ("missing-folder", "does not exist"),
        ("raises", "RuntimeError: kaput"),
        ("Bad Name", "invalid plugin blueprint name"),
    ):
        with pytest.raises(BlueprintError, match=message) as info:
            resolve_source(f"plugin:{name}", allow_local=False, trust=False)
        assert "fancy-blueprints 1.0" in str(info.value)
    reporter = SilentReporter()
    names = [bp.name for bp in local_engine(reporter=reporter).load_blueprints()]
    assert {"fancy", "pkg"} <= set(names)
    assert names.index("fancy") > names.index("web-fastapi"), "built-ins first"
    assert sum("skipped" in m for m in reporter.messages) == 6

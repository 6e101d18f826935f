"""Fast checks of the three built-in blueprints, through the real CLI.

Each generated tree must hold exactly the files its options call for, parse
(Python, TOML, YAML), and pass ``ruff check`` / ``ruff format --check`` with its
own configuration. Running the generated projects' own tests is the slow matrix
(``test_generated_matrix.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from ci_support import skip_unless_ci

from .helpers import ANSWERS_FILE, BUILTINS, codeforge, files, generate, init, tool

COMMON = ["package_name", "description", "author_name", "author_email", "license", "python_version"]
VARIABLES = {
    "web-fastapi": [*COMMON, "database", "use_docker", "ci"],
    "cli-click": [*COMMON, "ci", "command_name", "pypi_token"],
    "lib-python": [*COMMON, "ci", "pypi_token"],
}
COMPONENTS = {"web-fastapi": {"router", "model"}, "cli-click": {"command"}, "lib-python": set()}
LICENSE_TITLES = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License",
    "BSD-3-Clause": "BSD 3-Clause License",
}


# --------------------------------------------------------------------------- expected trees


def _common(pkg: str, license: str) -> set[str]:
    out = {ANSWERS_FILE, ".gitignore", "README.md", "pyproject.toml", f"src/{pkg}/__init__.py"}
    if license != "proprietary":
        out.add("LICENSE")
    return out


def expected_web(pkg: str, *, database: str, use_docker: bool, ci: str, license: str) -> set[str]:
    out = _common(pkg, license) | {
        f"src/{pkg}/main.py",
        f"src/{pkg}/schemas.py",
        f"src/{pkg}/models/__init__.py",
        f"src/{pkg}/models/item.py",
        f"src/{pkg}/routers/__init__.py",
        f"src/{pkg}/routers/health.py",
        f"src/{pkg}/routers/items.py",
        "tests/conftest.py",
        "tests/test_health.py",
        "tests/test_items.py",
    }
    if database != "none":
        out |= {f"src/{pkg}/config.py", f"src/{pkg}/db.py", f"src/{pkg}/models/base.py"}
    if use_docker:
        out |= {"Dockerfile", ".dockerignore", "compose.yaml"}
    return out | _ci_files(ci)


def _ci_files(ci: str) -> set[str]:
    return {
        "github": {".github/workflows/ci.yml"},
        "gitlab": {".gitlab-ci.yml"},
        "jenkins": {"Jenkinsfile"},
        "none": set(),
    }[ci]


def expected_cli(pkg: str, *, license: str, ci: str = "github") -> set[str]:
    return (
        _common(pkg, license)
        | _ci_files(ci)
        | {
            f"src/{pkg}/__main__.py",
            f"src/{pkg}/cli.py",
            f"src/{pkg}/py.typed",
            f"src/{pkg}/commands/__init__.py",
            f"src/{pkg}/commands/hello.py",
            "tests/test_cli.py",
        }
    )


def expected_lib(pkg: str, *, license: str, ci: str = "github") -> set[str]:
    return (
        _common(pkg, license)
        | _ci_files(ci)
        | {
            f"src/{pkg}/greetings.py",
            f"src/{pkg}/py.typed",
            "tests/test_greetings.py",
            "mkdocs.yml",
            "docs/index.md",
        }
    )


WEB_DEFAULTS = {"database": "sqlite", "use_docker": True, "ci": "github", "license": "MIT"}


# --------------------------------------------------------------------------- checks


def check_parses(project: Path) -> None:
    """Every Python, TOML and YAML file of the tree parses."""
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        assert text == "" or text.endswith("\n"), f"{path} does not end with a newline"
        jinja = re.sub(r"\$\{\{.*?\}\}", "", text)  # GitHub Actions expressions are ${{ ... }}
        assert "{{" not in jinja and "{%" not in jinja, f"unrendered Jinja in {path}"
        if path.suffix == ".py":
            compile(text, str(path), "exec")
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(text)


def check_ruff(project: Path) -> None:
    ruff = tool("ruff")
    if ruff is None:
        skip_unless_ci("ruff is not installed")
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run([ruff, *args], cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, f"ruff {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def pyproject(project: Path) -> dict:
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- catalog


def test_list_templates_shows_the_builtins() -> None:
    result = codeforge("list", "templates")
    assert result.exit_code == 0, result.output
    for name in BUILTINS:
        assert name in result.output


@pytest.mark.parametrize("blueprint", BUILTINS)
def test_show_lists_variables_and_components(blueprint: str) -> None:
    result = codeforge("show", blueprint, "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["name"] == blueprint
    names = [v["name"] for v in info["variables"]]
    assert names == VARIABLES[blueprint]
    by_name = {v["name"]: v for v in info["variables"]}
    assert by_name["license"]["default"] == "MIT"
    assert by_name["python_version"]["choices"] is not None
    components = info.get("components") or []
    component_names = (
        set(components)
        if isinstance(components, dict)
        else {c["name"] if isinstance(c, dict) else c for c in components}
    )
    assert component_names == COMPONENTS[blueprint]


# --------------------------------------------------------------------------- defaults


def test_web_fastapi_defaults(tmp_path: Path) -> None:
    project = init("web-fastapi", "shop-api", tmp_path)
    assert files(project) == expected_web("shop_api", **WEB_DEFAULTS)
    check_parses(project)
    check_ruff(project)
    meta = pyproject(project)["project"]
    assert meta["name"] == "shop-api"
    assert meta["license"] == "MIT"
    assert meta["requires-python"] == ">=3.11"
    assert any(dep.startswith("sqlalchemy") for dep in meta["dependencies"])
    assert not any(dep.startswith("psycopg") for dep in meta["dependencies"])
    assert (project / "LICENSE").read_text().startswith("MIT License")
    main = (project / "src/shop_api/main.py").read_text()
    assert "# codeforge:routers" in main and "# codeforge:router-imports" in main


def test_cli_click_defaults(tmp_path: Path) -> None:
    project = init("cli-click", "my-tool", tmp_path)
    assert files(project) == expected_cli("my_tool", license="MIT")
    check_parses(project)
    check_ruff(project)
    meta = pyproject(project)["project"]
    assert meta["scripts"] == {"my-tool": "my_tool.cli:cli"}
    assert "# codeforge:commands" in (project / "src/my_tool/cli.py").read_text()


def test_lib_python_defaults(tmp_path: Path) -> None:
    project = init("lib-python", "tiny-lib", tmp_path)
    assert files(project) == expected_lib("tiny_lib", license="MIT")
    check_parses(project)
    check_ruff(project)
    config = pyproject(project)
    assert config["tool"]["mypy"]["strict"] is True
    assert config["project"]["dependencies"] == []
    assert yaml.safe_load((project / "mkdocs.yml").read_text())["site_name"] == "tiny-lib"


# --------------------------------------------------------------------------- each option value


@pytest.mark.parametrize("database", ["none", "sqlite", "postgresql"])
def test_web_fastapi_database(tmp_path: Path, database: str) -> None:
    project = init("web-fastapi", "svc", tmp_path, {"database": database})
    options = {**WEB_DEFAULTS, "database": database}
    assert files(project) == expected_web("svc", **options)
    check_parses(project)
    check_ruff(project)
    deps = " ".join(pyproject(project)["project"]["dependencies"])
    assert ("sqlalchemy" in deps) == (database != "none")
    assert ("psycopg" in deps) == (database == "postgresql")
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    assert ("db" in compose["services"]) == (database == "postgresql")
    if database == "postgresql":
        assert "postgresql+psycopg://" in (project / "src/svc/config.py").read_text()
        assert "DATABASE_URL" in (project / "tests/conftest.py").read_text()
    if database == "sqlite":
        assert "DATABASE_URL=sqlite:////data/app.db" in (project / "Dockerfile").read_text()


@pytest.mark.parametrize("use_docker", [True, False])
def test_web_fastapi_docker(tmp_path: Path, use_docker: bool) -> None:
    project = init("web-fastapi", "svc", tmp_path, {"use_docker": str(use_docker).lower()})
    assert files(project) == expected_web("svc", **{**WEB_DEFAULTS, "use_docker": use_docker})
    check_parses(project)
    if use_docker:
        dockerfile = (project / "Dockerfile").read_text()
        assert "HEALTHCHECK" in dockerfile
        assert "USER 10001:10001" in dockerfile
        assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in dockerfile
    workflow = (project / ".github/workflows/ci.yml").read_text()
    assert ("docker/build-push-action@" in workflow) is use_docker


@pytest.mark.parametrize("ci", ["gitlab", "jenkins"])
@pytest.mark.parametrize("use_docker", [True, False])
def test_web_fastapi_docker_build_in_ci(tmp_path: Path, ci: str, use_docker: bool) -> None:
    data = {"ci": ci, "use_docker": str(use_docker).lower()}
    project = init("web-fastapi", "svc", tmp_path, data)
    text = (project / _ci_files(ci).pop()).read_text()
    assert ("docker build --tag " in text) is use_docker


@pytest.mark.parametrize("ci", ["github", "gitlab", "jenkins", "none"])
@pytest.mark.parametrize("blueprint", BUILTINS)
def test_ci_choices(tmp_path: Path, blueprint: str, ci: str) -> None:
    project = init(blueprint, "svc", tmp_path, {"ci": ci})
    expected = {
        "web-fastapi": lambda: expected_web("svc", **{**WEB_DEFAULTS, "ci": ci}),
        "cli-click": lambda: expected_cli("svc", license="MIT", ci=ci),
        "lib-python": lambda: expected_lib("svc", license="MIT", ci=ci),
    }[blueprint]()
    assert files(project) == expected
    check_parses(project)
    for name in _ci_files(ci):  # each runs the project's own lint and tests
        text = (project / name).read_text()
        assert "ruff check ." in text and "ruff format --check ." in text and "pytest" in text
        assert ("mypy" in text) is (blueprint != "web-fastapi")
    if ci == "gitlab":
        pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
        assert "pytest" in pipeline["test"]["script"]


@pytest.mark.parametrize("blueprint", BUILTINS)
@pytest.mark.parametrize("license", ["MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"])
def test_license(tmp_path: Path, blueprint: str, license: str) -> None:
    data = {"license": license, "author_name": "Ada Lovelace"}
    project = init(blueprint, "proj", tmp_path, data)
    meta = pyproject(project)["project"]
    if license == "proprietary":
        assert not (project / "LICENSE").exists()
        assert meta["license"] == "LicenseRef-Proprietary"
        assert "Private :: Do Not Upload" in meta["classifiers"]
        assert "## License" not in (project / "README.md").read_text()
    else:
        text = (project / "LICENSE").read_text()
        assert LICENSE_TITLES[license] in text.splitlines()[0]
        assert "Ada Lovelace" in text
        assert meta["license"] == license
        assert "## License" in (project / "README.md").read_text()
    check_parses(project)


@pytest.mark.parametrize("blueprint", BUILTINS)
@pytest.mark.parametrize("python_version", ["3.11", "3.12", "3.13"])
def test_python_version(tmp_path: Path, blueprint: str, python_version: str) -> None:
    project = init(blueprint, "proj", tmp_path, {"python_version": python_version})
    config = pyproject(project)
    assert config["project"]["requires-python"] == f">={python_version}"
    assert config["tool"]["ruff"]["target-version"] == "py" + python_version.replace(".", "")
    classifiers = config["project"]["classifiers"]
    assert f"Programming Language :: Python :: {python_version}" in classifiers
    if python_version != "3.11":
        assert "Programming Language :: Python :: 3.11" not in classifiers
    if blueprint == "web-fastapi":
        assert f"python:{python_version}-slim" in (project / "Dockerfile").read_text()
    # the workflow's matrix: the minimum Python and every newer supported one
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    versions = workflow["jobs"]["test"]["strategy"]["matrix"]["python-version"]
    assert versions == [v for v in ("3.11", "3.12", "3.13") if v >= python_version]
    check_ruff(project)


@pytest.mark.parametrize("blueprint", BUILTINS)
def test_authors_and_quotes_are_escaped(tmp_path: Path, blueprint: str) -> None:
    data = {
        "author_name": 'Jo "Quote" O\'Brien',
        "author_email": "jo@example.org",
        "description": 'A "quoted" description',
    }
    project = init(blueprint, "proj", tmp_path, data)
    meta = pyproject(project)["project"]
    assert meta["authors"] == [{"name": data["author_name"], "email": "jo@example.org"}]
    assert meta["description"] == data["description"]
    check_parses(project)
    check_ruff(project)


def test_cli_click_command_name(tmp_path: Path) -> None:
    project = init("cli-click", "proj", tmp_path, {"command_name": "pj"})
    assert pyproject(project)["project"]["scripts"] == {"pj": "proj.cli:cli"}


def test_same_answers_give_the_same_bytes(tmp_path: Path) -> None:
    one = init("web-fastapi", "svc", tmp_path / "a", {"database": "postgresql"})
    two = init("web-fastapi", "svc", tmp_path / "b", {"database": "postgresql"})
    assert files(one) == files(two)
    for rel in files(one):
        assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


# --------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("package_name", "Not-An-Identifier"),
        ("license", "GPL"),
        ("python_version", "2.7"),
        ("author_email", "not-an-email"),
    ],
)
def test_invalid_answers_are_refused(tmp_path: Path, key: str, value: str) -> None:
    result = codeforge(
        "init",
        "proj",
        "-t",
        "lib-python",
        "-o",
        str(tmp_path),
        "--defaults",
        "--no-git",
        "--data",
        f"{key}={value}",
    )
    assert result.exit_code == 3, result.output
    assert key in result.output
    assert not (tmp_path / "proj").exists()


# --------------------------------------------------------------------------- components


@pytest.mark.parametrize("database", ["none", "sqlite"])
def test_web_fastapi_router_and_model_components(tmp_path: Path, database: str) -> None:
    project = init("web-fastapi", "svc", tmp_path, {"database": database})
    before = files(project)
    assert generate(project, "router", "orders").exit_code == 0
    assert generate(project, "model", "customer").exit_code == 0
    added = files(project) - before
    assert added == {
        "src/svc/routers/orders.py",
        "tests/test_orders_router.py",
        "src/svc/models/customer.py",
        "tests/test_customer_model.py",
    }
    main = (project / "src/svc/main.py").read_text()
    assert "from svc.routers import orders\n# codeforge:router-imports" in main
    assert "app.include_router(orders.router)\n# codeforge:routers" in main
    models = (project / "src/svc/models/__init__.py").read_text()
    assert "from svc.models.customer import Customer as Customer\n# codeforge:models" in models
    model = (project / "src/svc/models/customer.py").read_text()
    if database == "none":
        assert "@dataclass" in model
    else:
        assert "class Customer(Base):" in model
    check_parses(project)
    check_ruff(project)

    again = generate(project, "model", "customer")
    assert again.exit_code == 4, again.output  # the file exists: a conflict
    assert models == (project / "src/svc/models/__init__.py").read_text()


@pytest.mark.parametrize(
    ("kind", "name"), [("router", "app"), ("router", "class"), ("model", "base")]
)
def test_web_fastapi_component_names_are_validated(tmp_path: Path, kind: str, name: str) -> None:
    project = init("web-fastapi", "svc", tmp_path)
    before = {rel: (project / rel).read_bytes() for rel in files(project)}
    result = generate(project, kind, name)
    assert result.exit_code == 3, result.output
    assert {rel: (project / rel).read_bytes() for rel in files(project)} == before


def test_cli_click_command_component(tmp_path: Path) -> None:
    project = init("cli-click", "my-tool", tmp_path)
    assert generate(project, "command", "sync_data").exit_code == 0
    assert generate(project, "command", "export").exit_code == 0
    cli = (project / "src/my_tool/cli.py").read_text()
    assert (
        "from my_tool.commands import sync_data\n"
        "from my_tool.commands import export\n"
        "# codeforge:command-imports"
    ) in cli
    assert (
        "cli.add_command(sync_data.command)\ncli.add_command(export.command)\n# codeforge:commands"
    ) in cli
    assert (
        '@click.command(name="sync-data")'
        in (project / "src/my_tool/commands/sync_data.py").read_text()
    )
    assert (project / "tests/test_command_export.py").is_file()
    check_parses(project)
    check_ruff(project)
    assert generate(project, "command", "cli").exit_code == 3

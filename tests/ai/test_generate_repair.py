"""``ai generate --test CMD [--rounds N]``: the repair loop, through the console script.

The model is a contract server speaking the OpenAI chat API on loopback; it answers a
scripted list of code, and records each request, so the tests see what was fed back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cli_support import CODEFORGE

from .test_review_input import env_for

WRONG = "def add(a, b):\n    return a - b\n"
UNDEFINED = "def add(a, b):\n    return total(a, b)\n"
RIGHT = "def add(a, b):\n    return a + b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


class Scripted:
    """The answers to give, in order (the last one repeats), and the requests seen."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Scripted]]:
    script = Scripted()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            script.requests.append(body)
            code = script.answers[min(len(script.requests), len(script.answers)) - 1]
            reply = {
                "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": json.dumps({"code": code})}}],
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
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", script
    server.shutdown()
    server.server_close()


def generate(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env_for(tmp_path), "CODEFORGE_AI_BASE_URL": url, "CODEFORGE_AI_MODEL": "m"}
    return subprocess.run(
        [str(CODEFORGE), "ai", "generate", "an add function", "--project", str(tmp_path / "p"),
         "--into", "calc.py", *args],
        env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "test_calc.py").write_text(TESTS)
    return tmp_path / "p"


def last_user_message(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def test_the_targets_own_tests_drive_the_repair(
    tmp_path: Path, project: Path, endpoint: tuple[str, Scripted]
) -> None:
    url, script = endpoint
    script.answers = [UNDEFINED, WRONG, RIGHT]
    done = generate(tmp_path, url, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(script.requests) == 3
    # ruff's failure went back to the model, then the test's.
    assert "F821" in last_user_message(script.requests[1]), script.requests[1]
    assert "total" in last_user_message(script.requests[1])
    second = last_user_message(script.requests[2])
    assert "tests failed" in second and "assert" in second and "a - b" in second
    assert "round 1: ruff failed, tests failed" in done.stderr
    assert "round 2: ruff passed, tests failed" in done.stderr
    assert "round 3: ruff passed, tests passed" in done.stderr
    assert "passed: ruff, tests" in done.stdout and "after 2 repair round(s)" in done.stdout
    assert (project / "calc.py").read_text() == RIGHT
    assert not list(project.glob("__pycache__"))  # the tests ran in a copy


def test_code_that_still_fails_is_not_written(
    tmp_path: Path, project: Path, endpoint: tuple[str, Scripted]
) -> None:
    url, script = endpoint
    script.answers = [WRONG]
    fail = f"{sys.executable} -m pytest -q test_calc.py"
    done = generate(tmp_path, url, "--yes", "--test", fail, "--rounds", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert len(script.requests) == 2  # the first try and one repair round
    assert "error: the generated code still fails (tests) after 2 tries" in done.stderr
    assert "nothing written" in done.stderr
    assert not (project / "calc.py").exists()


def test_rounds_zero_and_passing_at_once(
    tmp_path: Path, project: Path, endpoint: tuple[str, Scripted]
) -> None:
    url, script = endpoint
    script.answers = [RIGHT]
    done = generate(tmp_path, url, "--dry-run", "--rounds", "0", "--test", "true")
    assert done.returncode == 0, done.stderr
    assert len(script.requests) == 1
    assert "passed: ruff, tests (`true`) on the first try" in done.stdout
    assert not (project / "calc.py").exists()  # --dry-run


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--test", "'unclosed"], "--test: No closing quotation"),
        (["--test", "no-such-command-here"], "command not found: no-such-command-here"),
        (["--rounds", "11"], "11 is not in the range 0<=x<=10"),
    ],
)
def test_bad_test_options(
    tmp_path: Path, project: Path, endpoint: tuple[str, Scripted], args: list[str], says: str
) -> None:
    url, script = endpoint
    script.answers = [RIGHT]
    done = generate(tmp_path, url, "--yes", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert not (project / "calc.py").exists()

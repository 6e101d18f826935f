"""``POST /jobs {"kind": "review", "project_id": N}``: a server project's stored tree reviewed
as a job, progress per file through the job's events, a SARIF 2.1.0 log as the result.

The model is a contract server speaking the OpenAI chat API on loopback (it answers one
finding per file, slowly enough that each file's progress is seen by the event stream)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from codeforge.ai.sarif import validate_sarif

from .conftest import Api
from .test_job_events import read_events
from .test_jobs import wait_done
from .test_update_job import archive, generated, register

V1 = "/api/v1"
SHELL = b"""import subprocess


def run():
    cmd = input("command: ")
    return subprocess.call(cmd, shell=True)
"""
CLEAN = b"def add(a: int, b: int) -> int:\n    return a + b\n"
ANSWER = {
    "findings": [
        {
            "line": 6,
            "cwe": "CWE-78",
            "quote": "subprocess.call(cmd, shell=True)",
            "flow": "cmd is read by input() and reaches a shell.",
            "severity": "high",
            "message": "command injection",
            "suggestion": "pass a list without shell=True",
        }
    ]
}


@pytest.fixture
def model_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """CODEFORGE_AI_BASE_URL at a loopback chat endpoint answering ANSWER after 0.8 s."""
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            time.sleep(0.8)  # longer than the event stream's poll: each file's line is seen
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
    monkeypatch.setenv("CODEFORGE_AI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("CODEFORGE_AI_MODEL", "contract-model")
    yield requests
    server.shutdown()
    server.server_close()


def project_with_code(api: Api) -> int:
    register(
        api,
        archive(
            "1.0.0",
            b"# {{ project_name }}\n",
            {
                "template/app.py": SHELL,
                "template/pkg/util.py": CLEAN,
                "template/pkg/more.py": CLEAN,
                "template/data.txt": b"x",
            },
        ),
    )
    return generated(api, api.alice)


def test_a_review_job_reports_progress_per_file_and_a_sarif_log(
    api: Api, model_endpoint: list[dict[str, Any]]
) -> None:
    pid = project_with_code(api)
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json={"kind": "review", "project_id": pid})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    events = read_events(api, api.alice, job_id)
    stages = [e["stage"] for e in events]
    # A job writes its progress at most every 0.5 s; each model call takes 0.8 s, so the
    # line of every file but the last is seen before the next one replaces it.
    assert any(s and s.startswith("[1/3] shelf/") for s in stages), stages
    assert any(s and s.startswith("[2/3] shelf/") for s in stages), stages
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and events[-1]["status"] == "finished", events
    done = events[-1]
    assert done["kind"] == "review"
    result = done["result"]
    assert (result["files"], result["model"], result["project_id"]) == (3, "contract-model", pid)
    assert result["by_source"]["model"] == 1 and result["confirmed"] == 1, result
    assert len(model_endpoint) == 3  # one constrained call per Python file

    got = api.as_(api.alice, "GET", done["result_url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/sarif+json"
    assert 'filename="shelf-review.sarif"' in got.headers["content-disposition"]
    doc = got.json()
    validate_sarif(doc)
    results = doc["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"shelf/app.py"}, uris  # the project's own paths, not the server's
    [model] = [r for r in results if r["ruleId"].startswith("model")]
    assert model["properties"]["cwe"] == "CWE-78"
    assert model["properties"]["confirmed_by"], model
    assert any(r["ruleId"] == "taint/CWE-78" for r in results), [r["ruleId"] for r in results]


def test_static_only_refusals_and_no_model_configured(api: Api, monkeypatch: Any) -> None:
    monkeypatch.delenv("CODEFORGE_AI_BASE_URL", raising=False)
    monkeypatch.delenv("CODEFORGE_AI_API_LOCAL", raising=False)
    pid = project_with_code(api)
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json={"kind": "review", "project_id": pid})
    done = wait_done(api, api.alice, response.json()["id"])
    assert done["status"] == "finished", done
    assert done["result"]["model"] is None and "model" not in done["result"]["by_source"]
    assert done["result"]["by_source"]["bandit"] >= 1
    # Someone else's project is not found; a bad id or an unknown field is refused.
    other = api.as_(api.bob, "POST", f"{V1}/jobs", json={"kind": "review", "project_id": pid})
    assert other.status_code == 404, other.text
    bad = api.as_(api.alice, "POST", f"{V1}/jobs", json={"kind": "review", "project_id": 0})
    assert bad.status_code == 422
    extra = {"kind": "review", "project_id": pid, "paths": ["/etc"]}
    assert api.as_(api.alice, "POST", f"{V1}/jobs", json=extra).status_code == 422

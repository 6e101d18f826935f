"""``GET /api/v1/jobs/{id}/events``: a job's progress as server-sent events, until it ends."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Api, Caller

V1 = "/api/v1"


def read_events(api: Api, caller: Caller, job_id: str) -> list[dict[str, Any]]:
    """Every ``job`` event of the stream (it ends by itself when the job does)."""
    found: list[dict[str, Any]] = []
    with api.client.stream("GET", f"{V1}/jobs/{job_id}/events", headers=caller.headers) as rsp:
        assert rsp.status_code == 200
        assert rsp.headers["content-type"].startswith("text/event-stream")
        assert rsp.headers["cache-control"] == "no-store"
        name = ""
        for line in rsp.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "job":
                found.append(json.loads(line.removeprefix("data: ")))
    return found


def test_events_follow_a_job_to_its_end(api: Api) -> None:
    body = {"kind": "generate", "template": "lib-python", "name": "demo", "answers": {}}
    job = api.as_(api.alice, "POST", f"{V1}/jobs", json=body).json()
    events = read_events(api, api.alice, job["id"])
    assert events, "no event"
    assert events[-1]["status"] == "finished" and events[-1]["progress"] == 100
    assert events[-1]["result_url"] == f"{V1}/jobs/{job['id']}/result"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert len({(e["status"], e["progress"], e["stage"]) for e in events}) == len(events)
    assert events[-1] == api.as_(api.alice, "GET", f"{V1}/jobs/{job['id']}").json()


def test_a_failed_job_ends_the_stream_with_its_error(api: Api) -> None:
    body = {
        "kind": "generate",
        "template": "lib-python",
        "name": "demo",
        "answers": {"license": "no-such-licence"},
    }
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text  # answers are checked by the worker
    events = read_events(api, api.alice, response.json()["id"])
    assert events[-1]["status"] == "failed" and events[-1]["error"]


def test_someone_elses_job_and_no_key(api: Api) -> None:
    body = {"kind": "generate", "template": "lib-python", "name": "demo", "answers": {}}
    job = api.as_(api.alice, "POST", f"{V1}/jobs", json=body).json()
    other = api.as_(api.bob, "GET", f"{V1}/jobs/{job['id']}/events")
    assert other.status_code == 404 and other.json()["message"] == f"no job {job['id']}"
    assert api.client.get(f"{V1}/jobs/{job['id']}/events").status_code == 401
    assert read_events(api, api.root, job["id"])[-1]["status"] == "finished"  # admins: any

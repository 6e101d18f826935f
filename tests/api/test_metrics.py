"""What /metrics exports besides requests: render time per blueprint, compiled-template
cache lookups, and the gauges read at scrape time (database up, queue)."""

from __future__ import annotations

import re

from .conftest import Api

V1 = "/api/v1"


def samples(text: str, name: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        match = re.match(rf"^{name}(\{{[^}}]*\}})? (\S+)$", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def test_render_time_cache_and_state_are_exported(api: Api) -> None:
    body = {"template": "lib-python", "name": "m"}
    statuses = [
        api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body).status_code
        for _ in range(2)
    ]
    assert statuses == [200, 200]
    text = api.client.get("/metrics").text
    renders = samples(text, "codeforge_render_duration_seconds_count")
    assert renders == {'{blueprint="lib-python"}': 2.0}
    lookups = samples(text, "codeforge_cache_requests_total")
    # the second render finds the templates the first one compiled
    assert lookups.get('{result="hit"}', 0) > 0
    assert samples(text, "codeforge_dependency_up") == {'{dependency="database"}': 1.0}
    assert "# TYPE codeforge_jobs_queued gauge" in text

"""``/dashboard`` and ``GET /api/v1/analytics``: counted from the database, drawn as SVG,
for maintainers and admins only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from .conftest import Site, make_user, sign_in
from .support import PASSWORD


def _seed(site: Site) -> None:
    """Generations: web-demo 3 today and 1 two days ago; <b>x</b> once 10 days ago; one
    45 days ago (outside 30 days); and projects of two web-demo versions."""
    from codeforge.db.engine import session_factory
    from codeforge.db.models import Project
    from codeforge.db.repositories import log_activity

    now = datetime.now(UTC)
    rows = [("web-demo", 0)] * 3 + [("web-demo", 2), ("<b>x</b>", 10), ("old", 45)]
    with session_factory(site.url).begin() as session:
        for blueprint, ago in rows:
            at = now - timedelta(days=ago)
            log_activity(session, "generate", details={"blueprint": blueprint}, at=at)
        log_activity(session, "key.create", details={"blueprint": "not-a-generation"})
        for n, version in enumerate(("2.1.0", "2.1.0", "1.0.0")):
            session.add(
                Project(
                    name=f"p{n}",
                    path=f"api:x/p{n}",
                    blueprint_name="web-demo",
                    blueprint_version=version,
                    blueprint_source="registry",
                    answers={},
                )
            )


def test_analytics_api_counts_from_the_database(site: Site) -> None:
    _seed(site)
    headers = {"Authorization": f"Bearer {site.maintainer_key}"}
    data = site.client.get("/api/v1/analytics", headers=headers).json()
    assert len(data["days"]) == 30 and data["days"][-1] == datetime.now(UTC).date().isoformat()
    totals = {g["blueprint"]: g["total"] for g in data["generations"]}
    assert totals == {"web-demo": 4, "<b>x</b>": 1}
    demo = data["generations"][0]
    assert demo["blueprint"] == "web-demo" and demo["counts"][-1] == 3 and demo["counts"][-3] == 1
    versions = {b["blueprint"]: b["versions"] for b in data["versions"]}
    assert versions["web-demo"] == [
        {"version": "2.1.0", "projects": 2},
        {"version": "1.0.0", "projects": 1},
    ]
    wider = site.client.get("/api/v1/analytics?days=60", headers=headers).json()
    assert {g["blueprint"] for g in wider["generations"]} == {"web-demo", "<b>x</b>", "old"}
    assert site.client.get("/api/v1/analytics?days=0", headers=headers).status_code == 422


def test_job_durations_and_error_rate(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    headers = {"X-CSRF-Token": csrf}
    ok = {"kind": "generate", "template": "lib-python", "name": "demo", "answers": {}}
    bad = {**ok, "answers": {"license": "no-such-licence"}}
    ids = [client.post("/api/v1/jobs", headers=headers, json=b).json()["id"] for b in (ok, bad)]
    deadline = time.monotonic() + 30
    while any(
        client.get(f"/api/v1/jobs/{i}").json()["status"] not in ("finished", "failed") for i in ids
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    maintainer = {"Authorization": f"Bearer {site.maintainer_key}"}
    jobs = site.client.get("/api/v1/analytics", headers=maintainer).json()["jobs"]
    assert len(jobs) == 1 and jobs[0]["kind"] == "generate"
    assert (jobs[0]["finished"], jobs[0]["failed"], jobs[0]["error_rate"]) == (1, 1, 0.5)
    assert 0 <= jobs[0]["p50_seconds"] <= jobs[0]["p95_seconds"] < 30


def test_dashboard_draws_svg_and_escapes(site: Site) -> None:
    _seed(site)
    make_user(site.url, "maxi", "maintainer", PASSWORD)
    client = site.new_client()
    sign_in(client, "maxi")
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    assert 'id="chart-days"' in html and 'id="chart-top"' in html
    assert "<title>web-demo: 3 on " in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "2.1.0: 2" in html and "1.0.0: 1" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/htmx.min.js" defer>']
    assert 'href="/dashboard"' in html
    assert client.get("/dashboard?days=7").status_code == 200


def test_dashboard_and_api_refuse_members(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    page = client.get("/dashboard")
    assert (
        page.status_code == 403 and "this needs the maintainer role (you are member)" in page.text
    )
    assert 'href="/dashboard"' not in client.get("/").text
    api = client.get("/api/v1/analytics", headers={"X-CSRF-Token": csrf})
    assert api.status_code == 403

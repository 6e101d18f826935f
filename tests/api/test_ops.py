"""Health, readiness, metrics, the body cap, activity paging, and secret-free JSON logs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from .conftest import Api

V1 = "/api/v1"


def test_health_ready_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok", "database": None}
    assert api.client.get("/readyz").json() == {"status": "ok", "database": "ok"}
    api.as_(
        api.alice, "POST", f"{V1}/projects/generate", json={"template": "lib-python", "name": "m"}
    )
    api.as_(api.alice, "POST", f"{V1}/projects/generate", json={"template": "nope", "name": "m"})
    text = api.client.get("/metrics").text
    assert (
        'codeforge_http_requests_total{method="POST",route="/api/v1/projects/generate",status="200"} 1.0'
        in text
    )
    assert 'codeforge_generations_total{blueprint="lib-python",kind="zip"} 1.0' in text
    assert 'codeforge_errors_total{kind="not_found"} 1.0' in text
    assert "codeforge_http_request_duration_seconds_bucket" in text


def test_body_over_the_cap_is_413(api: Api) -> None:
    big = {"template": "lib-python", "name": "x", "answers": {"description": "x" * 2_000_000}}
    response = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=big)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"

    # Chunked (no Content-Length): the cap counts bytes as they arrive.
    def gen():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    response = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        content=gen(),
        headers={**api.alice.headers, "content-type": "application/json"},
    )
    assert response.status_code == 413


def test_activity_filters_and_pages(api: Api) -> None:
    for i in range(5):
        api.as_(
            api.alice,
            "POST",
            f"{V1}/projects/generate",
            json={"template": "lib-python", "name": f"p{i}"},
        )
    api.as_(
        api.bob, "POST", f"{V1}/projects/generate", json={"template": "lib-python", "name": "b"}
    )
    page = api.as_(
        api.alice, "GET", f"{V1}/activity", params={"action": "generate", "limit": 2}
    ).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    names = [r["details"]["project_name"] for r in page["items"]]
    assert names == ["p4", "p3"]
    rest = api.as_(
        api.alice, "GET", f"{V1}/activity", params={"action": "generate", "limit": 10, "offset": 2}
    ).json()
    assert [r["details"]["project_name"] for r in rest["items"]] == ["p2", "p1", "p0"]
    assert rest["next_offset"] is None
    everyone = api.as_(api.root, "GET", f"{V1}/activity", params={"action": "generate"}).json()
    assert len(everyone["items"]) == 6
    by_bob = api.as_(
        api.root, "GET", f"{V1}/activity", params={"actor": "bob", "action": "generate"}
    ).json()
    assert [r["actor"] for r in by_bob["items"]] == ["bob"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        api.as_(api.root, "GET", f"{V1}/activity", params={"since": future}).json()["items"] == []
    )
    assert api.as_(api.root, "GET", f"{V1}/activity", params={"until": future}).json()["items"]
    assert api.as_(api.alice, "GET", f"{V1}/activity", params={"limit": 0}).status_code == 422
    assert (
        api.as_(api.alice, "GET", f"{V1}/activity", params={"since": "yesterday"}).status_code
        == 422
    )


def test_logs_are_json_with_request_id_and_no_secrets(api: Api) -> None:
    response = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={"template": "lib-python", "name": "logged", "answers": {"description": "hello"}},
        headers={**api.alice.headers, "X-Request-ID": "req-123"},
    )
    assert response.headers["x-request-id"] == "req-123"
    api.client.get(
        f"{V1}/me", headers={"Authorization": "Bearer cf_WRONGbutSECRETlooking1234567890"}
    )
    created = api.as_(api.root, "POST", f"{V1}/keys", json={"name": "logme"}).json()["key"]
    logs = api.logs.getvalue()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert any(r.get("request_id") == "req-123" and r.get("status") == 200 for r in lines)
    assert all("request_id" in r for r in lines if r.get("event") == "request")
    for secret in (api.alice.key, api.root.key, created, "cf_WRONGbutSECRETlooking1234567890"):
        assert secret not in logs


def test_redact_masks_secret_keys_and_values() -> None:
    from codeforge.api.logs import redact

    event = redact(
        None,
        "info",
        {
            "event": "x Bearer abc",
            "api_key": "k",
            "nested": {"token": "t"},
            "v": ["cf_" + "a" * 30],
        },
    )
    assert event == {"event": "x ***", "api_key": "***", "nested": {"token": "***"}, "v": ["***"]}


@pytest.mark.parametrize(
    "token",
    ["ghp_" + "a1" * 18, "gho_" + "B2" * 18, "github_pat_" + "c_3" * 20, "glpat-" + "d-4" * 7],
)
def test_redact_masks_forge_tokens(token: str) -> None:
    from codeforge.api.logs import redact

    assert redact(None, "info", {"event": f"publish with {token} failed"}) == {
        "event": "publish with *** failed"
    }

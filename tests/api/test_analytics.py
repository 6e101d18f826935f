"""``GET /api/v1/analytics`` on SQLite and PostgreSQL: the same counts from the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import Api


def test_counts_by_day_and_blueprint_and_roles(api: Api) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import log_activity

    now = datetime.now(UTC)
    with session_factory(api.url).begin() as session:
        for blueprint, ago in [("a", 0), ("a", 0), ("b", 1), ("a", 6), ("a", 8)]:
            log_activity(
                session, "init", details={"blueprint": blueprint}, at=now - timedelta(days=ago)
            )
    week = api.as_(api.maya, "GET", "/api/v1/analytics", params={"days": 7})
    assert week.status_code == 200, week.text
    data = week.json()
    assert len(data["days"]) == 7 and data["since"] == data["days"][0]
    assert [(g["blueprint"], g["total"]) for g in data["generations"]] == [("a", 3), ("b", 1)]
    assert data["generations"][0]["counts"] == [1, 0, 0, 0, 0, 0, 2]
    assert data["generations"][1]["counts"][-2] == 1
    assert api.as_(api.root, "GET", "/api/v1/analytics").status_code == 200
    refused = api.as_(api.alice, "GET", "/api/v1/analytics")
    assert refused.status_code == 403 and "maintainer" in refused.json()["message"]

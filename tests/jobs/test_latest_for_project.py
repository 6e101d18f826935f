"""``jobstore.latest_for_project``: the newest job of a kind for one project, chosen by the
database on SQLite and PostgreSQL, however many newer jobs of other projects there are."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from codeforge.app import jobstore
from codeforge.db.models import Job
from codeforge.db.repositories import create_user

START = datetime(2026, 1, 1, tzinfo=UTC)


def _job(owner_id: int, kind: str, project_id: int, minute: int) -> Job:
    return Job(
        id=str(uuid.uuid4()),
        owner_id=owner_id,
        kind=kind,
        payload={"kind": kind, "project_id": project_id},
        payload_hash="0" * 64,
        created_at=START + timedelta(minutes=minute),
    )


def test_the_newest_review_of_the_project_among_many_newer_jobs(env: Any) -> None:
    with env.ctx.factory.begin() as session:
        other = create_user(session, f"other-{uuid.uuid4().hex[:6]}", "member").id
        older = _job(env.user_id, "review", 7, 0)
        wanted = _job(env.user_id, "review", 7, 1)
        session.add_all([older, wanted])
        # newer: 250 reviews of another project, an update of this one, someone else's review
        session.add_all(_job(env.user_id, "review", 8, 10 + n) for n in range(250))
        session.add(_job(env.user_id, "update", 7, 300))
        session.add(_job(other, "review", 7, 301))
        wanted_id = wanted.id

    with env.ctx.factory() as session:
        found = jobstore.latest_for_project(session, env.user_id, "review", 7)
        assert found is not None and found.id == wanted_id
        assert jobstore.latest_for_project(session, env.user_id, "review", 9) is None
        assert jobstore.latest_for_project(session, env.user_id, "publish", 7) is None

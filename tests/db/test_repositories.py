"""Repositories over a Session, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from codeforge.core.records import GenerationRecord
from codeforge.db import repositories as repo
from codeforge.db.engine import session_factory
from codeforge.db.migrate import ensure_schema
from codeforge.db.models import Activity, ApiKey, Project
from codeforge.errors import ConflictError, NotFoundError, ValidationError


@pytest.fixture
def factory(db_url: str) -> sessionmaker[Session]:
    ensure_schema(db_url)
    return session_factory(db_url)


def make_record(**overrides: Any) -> GenerationRecord:
    fields: dict[str, Any] = {
        "project_name": "shop-api",
        "path": "/home/ada/shop-api",
        "blueprint_name": "web-fastapi",
        "blueprint_version": "1.0.0",
        "blueprint_source": "builtin:web-fastapi",
        "answers": {"project_name": "shop-api", "database": "postgresql"},
        "record_id": "rec-1",
    }
    fields.update(overrides)
    return GenerationRecord(**fields)


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_record_generation_creates_project_and_activity(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        project = repo.record_generation(session, make_record(file_count=12))

    with factory.begin() as session:
        stored = session.get(Project, project.id)
        assert stored is not None
        assert (stored.name, stored.path, stored.owner_id) == (
            "shop-api",
            "/home/ada/shop-api",
            None,
        )
        activity = session.scalars(select(Activity)).one()
        assert activity.project_id == project.id
        assert activity.action == "init"
        assert activity.record_id == "rec-1"
        assert activity.details["file_count"] == 12


def test_record_generation_is_idempotent_on_record_id(factory: sessionmaker[Session]) -> None:
    record = make_record()
    with factory.begin() as session:
        first = repo.record_generation(session, record)
    with factory.begin() as session:
        second = repo.record_generation(session, record)

    assert second.id == first.id
    with factory.begin() as session:
        assert count(session, Project) == 1
        assert count(session, Activity) == 1


def test_regenerating_updates_the_project(factory: sessionmaker[Session]) -> None:
    later = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with factory.begin() as session:
        first = repo.record_generation(session, make_record())
    with factory.begin() as session:
        second = repo.record_generation(
            session,
            make_record(
                record_id="rec-2",
                action="update",
                blueprint_version="2.0.0",
                answers={"project_name": "shop-api", "database": "sqlite"},
                created_at=later,
            ),
        )

    assert second.id == first.id
    with factory.begin() as session:
        project = session.get(Project, first.id)
        assert project is not None
        assert project.blueprint_version == "2.0.0"
        assert project.answers["database"] == "sqlite"
        assert project.updated_at == later
        assert project.created_at < later
        actions = [a.action for a in repo.list_activity(session)]
        assert actions == ["update", "init"]


def test_local_paths_are_unique_even_with_a_null_owner(factory: sessionmaker[Session]) -> None:
    def local(path: str) -> Project:
        return Project(
            name="x", path=path, blueprint_name="b", blueprint_version="1",
            blueprint_source="s", answers={}, owner_id=None,
        )  # fmt: skip

    with factory.begin() as session:
        session.add(local("/same"))
    with pytest.raises(IntegrityError), factory.begin() as session:
        session.add(local("/same"))


def test_owned_and_local_projects_may_share_a_path(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        ada = repo.create_user(session, "ada")
        bob = repo.create_user(session, "bob")
    with factory.begin() as session:
        repo.record_generation(session, make_record(record_id="a"))
        repo.record_generation(session, make_record(record_id="b", actor="ada"))
        repo.record_generation(session, make_record(record_id="c", actor="bob"))

    with factory.begin() as session:
        assert len(repo.list_projects(session)) == 3
        assert [p.owner_id for p in repo.list_projects(session, owner_id=None)] == [None]
        ada_projects = repo.list_projects(session, owner_id=ada.id)
        assert [p.owner_id for p in ada_projects] == [ada.id]
        with pytest.raises(NotFoundError):
            repo.get_project(session, ada_projects[0].id, owner_id=bob.id)
        assert repo.get_project(session, ada_projects[0].id, owner_id=ada.id).owner_id == ada.id


def test_unknown_actor_is_not_found(factory: sessionmaker[Session]) -> None:
    with pytest.raises(NotFoundError, match="ghost"), factory.begin() as session:
        repo.record_generation(session, make_record(actor="ghost"))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
        datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    ],
)
def test_datetimes_round_trip_timezone_aware_in_utc(
    factory: sessionmaker[Session], moment: datetime
) -> None:
    with factory.begin() as session:
        project = repo.record_generation(session, make_record(created_at=moment))

    with factory.begin() as session:
        stored = session.get(Project, project.id)
        assert stored is not None
        assert stored.created_at.tzinfo is not None
        assert stored.created_at.utcoffset() == timedelta(0)
        assert stored.created_at == moment
        activity = session.scalars(select(Activity)).one()
        assert activity.at == moment


ANSWERS: dict[str, Any] = {
    "project_name": "café-api",
    "port": 8000,
    "ratio": 0.25,
    "debug": False,
    "extras": None,
    "features": ["auth", "docs", "ünïcødé 🚀"],
    "nested": {"db": {"engine": "postgresql", "pool": [1, 2, 3]}, "empty": {}},
    "template_text": "{{ 7*7 }}",
}


def test_answers_json_round_trips(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        project = repo.record_generation(session, make_record(answers=ANSWERS))

    with factory.begin() as session:
        stored = session.get(Project, project.id)
        assert stored is not None
        assert stored.answers == ANSWERS


def test_users_and_api_keys(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        ada = repo.create_user(session, "ada", "admin", password_hash="$argon2id$...")
        row, key = repo.create_api_key(session, ada, "laptop")
        key_id = row.id

    with factory.begin() as session:
        stored = session.get(ApiKey, key_id)
        assert stored is not None
        assert key not in (stored.key_hash, stored.prefix, repr(stored))
        assert key.startswith(stored.prefix)
        assert stored.key_hash == repo.hash_api_key(key)
        found = repo.find_key_by_hash(session, repo.hash_api_key(key))
        assert found is not None
        assert found.id == key_id
        user = repo.authenticate_api_key(session, key)
        assert user is not None
        assert user.name == "ada"
        assert stored.last_used_at is not None
        assert repo.authenticate_api_key(session, key + "x") is None

    with factory.begin() as session:
        repo.revoke_api_key(session, key_id)
    with factory.begin() as session:
        assert repo.authenticate_api_key(session, key) is None
        assert [k.id for k in repo.list_api_keys(session, ada.id)] == [key_id]


def test_expired_key_and_disabled_user_do_not_authenticate(
    factory: sessionmaker[Session],
) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    with factory.begin() as session:
        ada = repo.create_user(session, "ada")
        _, expired = repo.create_api_key(session, ada, "old", expires_at=past)
        bob = repo.create_user(session, "bob")
        _, bobs = repo.create_api_key(session, bob, "k")
        bob.disabled = True
    with factory.begin() as session:
        assert repo.authenticate_api_key(session, expired) is None
        assert repo.authenticate_api_key(session, bobs) is None


def test_user_rules(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        repo.create_user(session, "ada")
        with pytest.raises(ConflictError):
            repo.create_user(session, "ada")
        with pytest.raises(ValidationError):
            repo.create_user(session, "eve", "root")
        assert repo.get_user_by_name(session, "ada") is not None
        assert repo.get_user_by_name(session, "nobody") is None


def test_activity_filters_and_paging(factory: sessionmaker[Session]) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    with factory.begin() as session:
        for i in range(5):
            repo.log_activity(
                session,
                "login" if i % 2 else "delete",
                actor="ada",
                target=f"t{i}",
                details={"i": i},
                at=base + timedelta(hours=i),
            )
    with factory.begin() as session:
        newest = repo.list_activity(session, limit=2)
        assert [a.target for a in newest] == ["t4", "t3"]
        assert [a.target for a in repo.list_activity(session, limit=2, offset=2)] == ["t2", "t1"]
        logins = repo.list_activity(session, repo.ActivityFilter(action="login"))
        assert [a.details["i"] for a in logins] == [3, 1]
        window = repo.ActivityFilter(
            since=base + timedelta(hours=1), until=base + timedelta(hours=3)
        )
        assert [a.target for a in repo.list_activity(session, window)] == ["t2", "t1"]
        assert repo.list_activity(session, repo.ActivityFilter(actor="bob")) == []


def test_blueprint_registry(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        repo.register_blueprint(session, "web", "1.0.0", "gh:acme/web@v1", description="Web")
        repo.register_blueprint(session, "web", "2.0.0", "gh:acme/web@v2")
        repo.register_blueprint(session, "web", "1.0.0", "gh:acme/web@v1")  # same: no-op
        with pytest.raises(ConflictError):
            repo.register_blueprint(session, "web", "1.0.0", "gh:evil/web@v1")
    with factory.begin() as session:
        assert [b.version for b in repo.list_blueprints(session)] == ["1.0.0", "2.0.0"]
        repo.retire_blueprint(session, "web", "1.0.0")
        assert [b.version for b in repo.list_blueprints(session)] == ["2.0.0"]
        assert len(repo.list_blueprints(session, include_retired=True)) == 2
        with pytest.raises(NotFoundError):
            repo.retire_blueprint(session, "nope")
        repo.retire_blueprint(session, "web")
        assert repo.list_blueprints(session) == []

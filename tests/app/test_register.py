"""Registering and retiring blueprints on a server, as the API and the register job do."""

from __future__ import annotations

import dataclasses

import pytest
from api.test_registry import BLUEPRINT_YAML, TEMPLATE, make_zip

from codeforge.app import catalog, generate, register
from codeforge.app.context import AppContext
from codeforge.app.register import Actor
from codeforge.errors import ConflictError, NotFoundError, ValidationError


def activities(ctx: AppContext, action: str) -> list[dict[str, object]]:
    from codeforge.db.repositories import list_activity

    with ctx.read() as session:
        return [dict(a.details) for a in list_activity(session) if a.action == action]


def test_an_archive_registers_generates_and_retires(ctx: AppContext, maya: Actor) -> None:
    data = make_zip(TEMPLATE)
    registered = register.register_archive(ctx, maya, data)
    assert (registered.name, registered.version) == ("team-lib", "1.2.0")
    assert registered.source.startswith("archive:sha256:")
    assert registered.to_json()["created_at"] == registered.created_at.isoformat()
    # The catalog sees it at once on this server (the cached snapshot was dropped).
    assert "team-lib" in [e.name for e in catalog.list_entries(ctx, None)]
    rendered = generate.render(ctx, "team-lib", "demo", {}, None, caller=None)
    assert rendered.loaded.source.source == registered.source
    assert [d["tasks_ignored"] for d in activities(ctx, "blueprint.register")] == [True]
    retired = register.retire(ctx, maya, "team-lib", None)
    assert [r.version for r in retired] == ["1.2.0"]
    assert "team-lib" not in [e.name for e in catalog.list_entries(ctx, None)]
    with pytest.raises(NotFoundError):
        generate.render(ctx, "team-lib", "demo", {}, None, caller=None)


def test_a_job_registration_names_its_job(ctx: AppContext, maya: Actor) -> None:
    from codeforge.app.registry import fetch_archive

    folder, source = fetch_archive(ctx, make_zip(TEMPLATE))
    bp = register.check_registrable(ctx, folder)
    with ctx.factory.begin() as session:
        row = register.record_registration(session, bp, source, maya, job_id="j" * 32)
    assert row.source == source
    assert activities(ctx, "blueprint.register")[0]["job_id"] == "j" * 32


def test_built_in_names_cannot_be_registered_or_retired(ctx: AppContext, maya: Actor) -> None:
    taken = BLUEPRINT_YAML.replace(b"name: team-lib", b"name: lib-python")
    with pytest.raises(ConflictError, match="lib-python is a built-in blueprint name"):
        register.register_archive(ctx, maya, make_zip({**TEMPLATE, "blueprint.yaml": taken}))
    with pytest.raises(ConflictError, match="cannot be retired"):
        register.retire(ctx, maya, "lib-python", None)
    assert activities(ctx, "blueprint.register") == []


def test_an_archive_over_the_upload_cap_is_refused(ctx: AppContext, maya: Actor) -> None:
    data = make_zip(TEMPLATE)
    ctx.config = dataclasses.replace(ctx.config, max_upload_bytes=len(data) - 1)
    with pytest.raises(ValidationError, match="larger than"):
        register.register_archive(ctx, maya, data)
    assert not ctx.config.blueprint_dir.exists() or not any(ctx.config.blueprint_dir.iterdir())

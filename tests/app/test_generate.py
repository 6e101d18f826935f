"""Generating for a server caller: resolve, render in memory, zip, record once."""

from __future__ import annotations

import io
import zipfile

import pytest

from codeforge.app import catalog, generate, preview, record
from codeforge.app.context import AppContext
from codeforge.errors import NotFoundError


def generations(ctx: AppContext, kind: str) -> float:
    value = ctx.metrics.registry.get_sample_value(
        "codeforge_generations_total", {"blueprint": "lib-python", "kind": kind}
    )
    return value or 0.0


def test_the_zip_holds_the_rendered_plan_under_the_project_name(ctx: AppContext) -> None:
    engine, ref = catalog.resolve(ctx, "lib-python", caller=None)
    made = generate.generate_zip(ctx, engine, ref, "demo", {"license": "BSD-3-Clause"})
    again = generate.generate_zip(ctx, *catalog.resolve(ctx, "lib-python", caller=None), "demo", {})
    with zipfile.ZipFile(io.BytesIO(made.data)) as archive:
        names = set(archive.namelist())
        answers = archive.read("demo/.codeforge-answers.yml").decode()
    assert {f"demo/{f.path}" for f in made.rendered.plan.files} <= names
    assert "license: BSD-3-Clause" in answers
    assert made.rendered.answers["license"] == "BSD-3-Clause"
    assert again.rendered.answers["license"] == "MIT" and again.data != made.data
    # The same request twice: the same bytes (what makes jobs and endpoints agree).
    twice = generate.generate_zip(ctx, engine, ref, "demo", {"license": "BSD-3-Clause"})
    assert twice.data == made.data


def test_record_stores_one_project_per_generation(ctx: AppContext, maya: object) -> None:
    from codeforge.db.repositories import ANY_OWNER, list_projects

    rendered = generate.render(ctx, "lib-python", "demo", {}, None, caller=None)
    first = record.record(ctx, rendered, "demo", "maya")
    second = record.record(ctx, rendered, "demo", "maya")
    assert first != second
    assert generations(ctx, "zip") == 2
    with ctx.read() as session:
        rows = list_projects(session, ANY_OWNER)
        assert sorted(r.id for r in rows) == sorted([first, second])
        assert all(r.path.startswith("api:") and r.path.endswith("/demo") for r in rows)
        assert {r.blueprint_source for r in rows} == {"builtin:lib-python"}


def test_a_record_id_is_recorded_once(ctx: AppContext, maya: object) -> None:
    rendered = generate.render(ctx, "lib-python", "demo", {}, None, caller=None)
    rec = record.server_record(rendered, "demo", "maya", record_id="a" * 32, details={"x": 1})
    assert (rec.path, rec.action, rec.actor) == ("api:" + "a" * 32 + "/demo", "generate", "maya")
    ids = []
    for _ in range(2):
        with ctx.factory.begin() as session:
            ids.append(record.record_in(session, rec))
    assert ids[0] == ids[1]


def test_preview_describes_every_file_and_records_nothing(ctx: AppContext) -> None:
    from codeforge.db.repositories import ANY_OWNER, list_projects

    shown = preview.preview(ctx, "lib-python", "demo", {}, None, caller=None)
    assert (shown.template, shown.name) == ("lib-python", "demo")
    paths = [f.path for f in shown.files]
    assert paths == sorted(paths) and ".codeforge-answers.yml" in paths
    assert all(f.content is None for f in shown.files if f.binary)
    assert all(f.size == len(f.content.encode()) for f in shown.files if f.content is not None)
    assert generations(ctx, "preview") == 1
    with ctx.read() as session:
        assert list_projects(session, ANY_OWNER) == []


def test_unknown_blueprints_versions_and_paths_are_refused(ctx: AppContext) -> None:
    with pytest.raises(NotFoundError, match="no blueprint named nope"):
        generate.render(ctx, "nope", "demo", {}, None, caller=None)
    with pytest.raises(NotFoundError, match=r"has no version 0\.0\.1"):
        generate.render(ctx, "lib-python", "demo", {}, "0.0.1", caller=None)
    with pytest.raises(NotFoundError):
        generate.render(ctx, "/etc", "demo", {}, None, caller=None)

"""Generation over HTTP: zip bytes equal `codeforge init`, preview, starter.zip, ownership."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from .conftest import Api, Caller, run_cli

V1 = "/api/v1"


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root.parent).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def _cli_init(tmp_path: Path, template: str, name: str, data: dict[str, str]) -> Path:
    args = ["init", name, "-t", template, "-o", str(tmp_path / "cli"), "--defaults", "--no-git"]
    for key, value in data.items():
        args += ["--data", f"{key}={value}"]
    code, output = run_cli(*args)
    assert code == 0, output
    return tmp_path / "cli" / name


def _generated(api: Api, caller: Caller, name: str) -> int:
    body = {"template": "lib-python", "name": name}
    response = api.as_(caller, "POST", f"{V1}/projects/generate", json=body)
    assert response.status_code == 200, response.text
    return int(response.headers["x-project-id"])


def test_projects_are_removed_by_their_owner_or_an_admin(api: Api) -> None:
    mine, bobs = _generated(api, api.alice, "mine"), _generated(api, api.bob, "bobs")
    # Someone else's project is as good as missing: 404, and it stays.
    refused = api.as_(api.bob, "DELETE", f"{V1}/projects/{mine}")
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert api.as_(api.alice, "GET", f"{V1}/projects/{mine}").status_code == 200
    assert api.as_(api.alice, "DELETE", f"{V1}/projects/{mine}").status_code == 204
    assert api.as_(api.alice, "GET", f"{V1}/projects/{mine}").status_code == 404
    assert api.as_(api.alice, "DELETE", f"{V1}/projects/{mine}").status_code == 404
    assert api.as_(api.alice, "GET", f"{V1}/projects").json() == []
    assert api.as_(api.root, "DELETE", f"{V1}/projects/{bobs}").status_code == 204
    assert api.as_(api.bob, "GET", f"{V1}/projects").json() == []
    rows = api.as_(api.root, "GET", f"{V1}/activity", params={"action": "project.remove"})
    removed = [(r["actor"], r["details"]["project_id"]) for r in rows.json()["items"]]
    assert sorted(removed) == sorted([("alice", mine), ("root", bobs)])
    assert api.as_(api.alice, "DELETE", f"{V1}/projects/0").status_code == 422


@pytest.mark.parametrize(
    ("template", "answers"),
    [
        ("lib-python", {}),
        ("web-fastapi", {"database": "postgresql", "use_docker": "no", "ci": "gitlab"}),
        ("cli-click", {"license": "proprietary"}),
    ],
)
def test_generate_zip_has_the_bytes_init_writes(
    api: Api, tmp_path: Path, template: str, answers: dict[str, str]
) -> None:
    response = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={"template": template, "name": "demo-app", "answers": answers},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="demo-app.zip"')
    zipped = _zip_files(response.content)
    written = _files(_cli_init(tmp_path, template, "demo-app", answers))
    assert zipped.keys() == written.keys()
    assert all(name.startswith("demo-app/") for name in zipped)
    for name, content in written.items():
        assert zipped[name] == content, name


def test_generate_is_deterministic_and_recorded(api: Api) -> None:
    body = {"template": "lib-python", "name": "det", "answers": {"license": "MIT"}}
    first = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body)
    second = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body)
    assert first.content == second.content
    pid = int(first.headers["x-project-id"])
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["name"] == "det"
    assert project["blueprint_name"] == "lib-python"
    assert project["answers"]["license"] == "MIT"
    rows = api.as_(api.alice, "GET", f"{V1}/activity", params={"project": pid}).json()["items"]
    assert [r["action"] for r in rows] == ["generate"]
    assert rows[0]["actor"] == "alice"


def test_projects_are_owned(api: Api) -> None:
    body = {"template": "lib-python", "name": "mine"}
    pid = int(
        api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body).headers["x-project-id"]
    )
    bob_pid = int(
        api.as_(api.bob, "POST", f"{V1}/projects/generate", json={**body, "name": "bobs"}).headers[
            "x-project-id"
        ]
    )
    assert api.as_(api.bob, "GET", f"{V1}/projects/{pid}").status_code == 404
    assert api.as_(api.alice, "GET", f"{V1}/projects/{pid}").status_code == 200
    assert api.as_(api.root, "GET", f"{V1}/projects/{pid}").status_code == 200
    assert api.as_(api.alice, "GET", f"{V1}/projects/999999").status_code == 404
    alice_names = [p["name"] for p in api.as_(api.alice, "GET", f"{V1}/projects").json()]
    bob_names = [p["name"] for p in api.as_(api.bob, "GET", f"{V1}/projects").json()]
    all_names = [p["name"] for p in api.as_(api.root, "GET", f"{V1}/projects").json()]
    assert alice_names == ["mine"]
    assert bob_names == ["bobs"]
    assert sorted(all_names) == ["bobs", "mine"]
    # The other member's activity is invisible too.
    bob_rows = api.as_(api.bob, "GET", f"{V1}/activity", params={"project": pid}).json()["items"]
    assert bob_rows == []
    assert api.as_(api.bob, "GET", f"{V1}/activity", params={"project": bob_pid}).json()["items"]


def test_preview_returns_tree_and_contents_without_recording(api: Api) -> None:
    response = api.as_(
        api.bob,
        "POST",
        f"{V1}/projects/preview",
        json={"template": "lib-python", "name": "pv", "answers": {"license": "MIT"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    paths = [f["path"] for f in body["files"]]
    assert "pyproject.toml" in paths
    readme = next(f for f in body["files"] if f["path"] == "README.md")
    assert "pv" in readme["content"]
    assert api.as_(api.bob, "GET", f"{V1}/projects").json() == []


def test_starter_zip_takes_answers_from_the_query(api: Api, tmp_path: Path) -> None:
    response = api.as_(
        api.alice,
        "GET",
        f"{V1}/starter.zip",
        params={"template": "web-fastapi", "name": "starter", "database": "none", "ci": "none"},
    )
    assert response.status_code == 200, response.text
    written = _files(
        _cli_init(tmp_path, "web-fastapi", "starter", {"database": "none", "ci": "none"})
    )
    assert _zip_files(response.content) == written


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"template": "lib-python", "name": "x", "answers": {"license": "GPL"}}, 422, "license"),
        (
            {"template": "lib-python", "name": "x", "answers": {"package_name": "Not Valid"}},
            422,
            "package_name",
        ),
        ({"template": "lib-python", "name": "x", "answers": {"nope": 1}}, 422, "nope"),
        ({"template": "lib-python", "name": "x", "extra": 1}, 422, "extra"),
        ({"template": "no-such", "name": "x"}, 404, "no-such"),
        ({"template": "../etc", "name": "x"}, 422, "template"),
        ({"template": "lib-python", "name": "../up"}, 400, "name"),
        ({"template": "lib-python", "name": "x", "version": "9.9.9"}, 404, "9.9.9"),
    ],
)
def test_bad_generation_requests(
    api: Api, body: dict[str, object], status: int, needle: str
) -> None:
    response = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=body)
    assert response.status_code == status, response.text
    assert needle in response.text
    assert response.json()["error"]


def test_validation_error_names_the_variable(api: Api) -> None:
    response = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={"template": "web-fastapi", "name": "x", "answers": {"use_docker": "maybe"}},
    )
    assert response.status_code == 422
    assert response.json()["variable"] == "use_docker"


def test_a_bad_answer_does_not_break_the_next_generation(api: Api) -> None:
    """A failed render closes the blueprint's compiled cache; the next request still works."""
    url = f"{V1}/projects/generate"
    bad = {"template": "web-fastapi", "name": "x", "answers": {"license": "nope"}}
    assert api.as_(api.alice, "POST", url, json=bad).status_code == 422
    good = {"template": "web-fastapi", "name": "x", "answers": {}}
    response = api.as_(api.alice, "POST", url, json=good)
    assert response.status_code == 200, response.text


def test_content_disposition_is_safe() -> None:
    from codeforge.api.download import content_disposition

    header = content_disposition('évil"\r\nSet-Cookie: x')
    assert "\r" not in header and "\n" not in header
    ascii_part = header.split(";")[1]
    assert '"' not in ascii_part.split("=", 1)[1].strip('"')
    assert "filename*=UTF-8''%C3%A9vil%22%0D%0ASet-Cookie%3A%20x.zip" in header


def test_a_projects_workflow_state_is_shown_to_its_owner(api: Api) -> None:
    from datetime import UTC, datetime

    from codeforge.db.engine import session_factory
    from codeforge.db.models import Project
    from codeforge.db.repositories import save_stage_result

    pid = _generated(api, api.alice, "flow")
    empty = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/workflow")
    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "project_id": pid,
        "last_stage": None,
        "last_status": None,
        "updated_at": None,
        "stages": [],
    }
    at = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    with session_factory(api.url).begin() as session:
        project = session.get(Project, pid)
        assert project is not None
        for stage, status in (("build", "succeeded"), ("verify", "succeeded"), ("build", "failed")):
            result = {
                "stage": stage,
                "status": status,
                "inputs_key": "k",
                "started_at": at.isoformat(),
                "duration": 2.0,
                "outputs": {"version": "0.1.0"} if status == "succeeded" else {},
                "step": "" if status == "succeeded" else "Wheel and sdist",
                "tail": [] if status == "succeeded" else ["boom"],
            }
            save_stage_result(session, project, result, at)
    shown = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/workflow").json()
    assert (shown["last_stage"], shown["last_status"]) == ("build", "failed")
    assert [(s["stage"], s["status"]) for s in shown["stages"]] == [
        ("verify", "succeeded"),
        ("build", "failed"),
    ]
    assert shown["stages"][1]["tail"] == ["boom"]
    assert api.as_(api.bob, "GET", f"{V1}/projects/{pid}/workflow").status_code == 404
    assert api.as_(api.root, "GET", f"{V1}/projects/{pid}/workflow").status_code == 200
    # Each result is also an Activity row of the project (recorded by the CLI: no actor).
    rows = api.as_(api.root, "GET", f"{V1}/activity", params={"action": "workflow"}).json()
    assert sorted(r["target"] for r in rows["items"]) == ["build", "build", "verify"]

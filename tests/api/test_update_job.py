"""``GET /projects/{id}/diff`` and ``POST /projects/{id}/update``: a server project merged with the
newest registered version of its blueprint, as a diff and as an ``update`` job."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity

from .conftest import Api, Caller
from .test_jobs import wait_done

V1 = "/api/v1"
V1_YAML = b"""\
name: shelf-bp
version: 1.0.0
description: A shelf
variables:
  greeting:
    type: str
    default: hello
"""
README_V1 = b"# {{ project_name }}\n\n{{ greeting }}\n"
README_V2 = b"# {{ project_name }}\n\n{{ greeting }}, world\n\nsecond version\n"


def archive(version: str, readme: bytes, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    files = {
        "blueprint.yaml": V1_YAML.replace(b"1.0.0", version.encode()),
        "template/README.md.jinja": readme,
        **(extra or {}),
    }
    with zipfile.ZipFile(buffer, "w") as out:
        for name, body in files.items():
            out.writestr(f"shelf-bp/{name}", body)
    return buffer.getvalue()


def register(api: Api, data: bytes) -> None:
    response = api.as_(
        api.maya,
        "POST",
        f"{V1}/blueprints/upload",
        files={"archive": ("bp.zip", data, "application/zip")},
    )
    assert response.status_code == 201, response.text


def generated(api: Api, caller: Caller, template: str = "shelf-bp") -> int:
    body = {"kind": "generate", "template": template, "name": "shelf", "answers": {}}
    response = api.as_(caller, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(api, caller, response.json()["id"])
    assert done["status"] == "finished", done
    return int(done["result"]["project_id"])


def files_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive_:
        return {i.filename: archive_.read(i) for i in archive_.infolist() if not i.is_dir()}


def test_the_diff_shows_the_newest_version_and_the_update_job_merges_it(api: Api) -> None:
    register(api, archive("1.0.0", README_V1))
    pid = generated(api, api.alice)
    same = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff").json()
    assert same["update_available"] is False and same["changes"] == [], same
    register(api, archive("1.1.0", README_V2, {"template/NEW.txt": b"new file\n"}))
    shown = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["from_version"], body["to_version"]) == ("1.0.0", "1.1.0")
    actions = {c["path"]: c["action"] for c in body["changes"]}
    assert actions["README.md"] == "update" and actions["NEW.txt"] == "add", actions
    assert "+hello, world" in body["diff"] and body["update_available"] is True
    # The diff wrote nothing: the project is still at 1.0.0.
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["blueprint_version"] == "1.0.0"

    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/update")
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{V1}/jobs/{response.json()['id']}"
    done = wait_done(api, api.alice, response.json()["id"])
    assert done["kind"] == "update" and done["status"] == "finished", done
    assert done["result"]["to_version"] == "1.1.0"
    assert sorted(done["result"]["changed"]) == [".codeforge-answers.yml", "NEW.txt", "README.md"]
    merged = files_of(api.as_(api.alice, "GET", done["result_url"]).content)
    assert merged["shelf/README.md"] == b"# shelf\n\nhello, world\n\nsecond version\n"
    assert merged["shelf/NEW.txt"] == b"new file\n"
    assert b'version: "1.1.0"' in merged["shelf/.codeforge-answers.yml"]
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["blueprint_version"] == "1.1.0"
    after = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff").json()
    assert after["update_available"] is False, after
    with session_factory(api.url)() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "update")).all()
        assert [(r.project_id, r.target) for r in rows] == [(pid, "shelf-bp 1.1.0")]


def test_roles_and_refusals(api: Api) -> None:
    register(api, archive("1.0.0", README_V1))
    pid = generated(api, api.alice)
    # Someone else's project is not found, for the diff and the update alike.
    assert api.as_(api.bob, "GET", f"{V1}/projects/{pid}/diff").status_code == 404
    assert api.as_(api.bob, "POST", f"{V1}/projects/{pid}/update").status_code == 404
    # An admin may read anyone's diff (as GET /projects/{id}), but updates only their own.
    assert api.as_(api.root, "GET", f"{V1}/projects/{pid}/diff").status_code == 200
    assert api.as_(api.root, "POST", f"{V1}/projects/{pid}/update").status_code == 404
    assert api.as_(api.alice, "GET", f"{V1}/projects/0/diff").status_code == 422
    # A project downloaded as a zip has no stored tree to merge into: 409, saying so.
    made = api.as_(
        api.alice,
        "POST",
        f"{V1}/projects/generate",
        json={"template": "shelf-bp", "name": "plain", "answers": {}},
    )
    plain = int(made.headers["x-project-id"])
    refused = api.as_(api.alice, "GET", f"{V1}/projects/{plain}/diff")
    assert refused.status_code == 409, refused.text
    assert "no longer stored" in refused.json()["message"]
    assert api.as_(api.alice, "POST", f"{V1}/projects/{plain}/update").status_code == 409
    # A retired base version cannot be rebuilt for the merge.
    gone = api.as_(api.maya, "DELETE", f"{V1}/blueprints/shelf-bp")
    assert gone.status_code in (200, 204), gone.text
    missing = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff")
    assert missing.status_code == 404, missing.text
    assert "shelf-bp" in missing.json()["message"]


def test_a_builtin_project_is_up_to_date(api: Api) -> None:
    pid = generated(api, api.alice, "lib-python")
    body = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff").json()
    assert body["update_available"] is False and body["diff"] == "", body
    done = wait_done(
        api, api.alice, api.as_(api.alice, "POST", f"{V1}/projects/{pid}/update").json()["id"]
    )
    assert done["status"] == "finished" and done["result"]["changed"] == [], done

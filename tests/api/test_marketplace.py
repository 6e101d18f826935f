"""The marketplace over HTTP: private blueprints answer 404 on every route for users who may
not see them (exactly like a missing name), groups, featured/deprecated marks, stars, sort."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Api, Caller, make_caller
from .test_registry import TEMPLATE, make_zip

V1 = "/api/v1"
NAME = "team-lib"


def _upload(api: Api, caller: Caller, visibility: str | None = None, files: Any = None) -> Any:
    data = {"visibility": visibility} if visibility else {}
    archive = make_zip(files or TEMPLATE)
    return api.as_(
        caller,
        "POST",
        f"{V1}/blueprints/upload",
        files={"archive": ("bp.zip", archive, "application/octet-stream")},
        data=data,
    )


def _private(api: Api) -> None:
    response = _upload(api, api.maya, "private")
    assert response.status_code == 201, response.text


def _generate_body(name: str) -> dict[str, Any]:
    return {"template": name, "name": "demo", "answers": {}}


# Every route that reads or uses a blueprint by name: (method, path, request keywords).
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/blueprints/{n}", {}),
    ("GET", "/blueprints/{n}/components", {}),
    ("POST", "/projects/preview", lambda n: {"json": _generate_body(n)}),
    ("POST", "/projects/generate", lambda n: {"json": _generate_body(n)}),
    ("GET", "/starter.zip", lambda n: {"params": {"template": n, "name": "demo"}}),
    ("POST", "/jobs", lambda n: {"json": {"kind": "generate", **_generate_body(n)}}),
    ("PUT", "/blueprints/{n}/star", {}),
    ("DELETE", "/blueprints/{n}/star", {}),
    ("POST", "/ai/describe", lambda n: {"json": {"description": "a lib", "blueprint": n}}),
]


def _call(api: Api, caller: Caller, route: tuple[str, str, Any], name: str) -> Any:
    method, path, extra = route
    kwargs = extra(name) if callable(extra) else dict(extra)
    return api.as_(caller, method, V1 + path.replace("{n}", name), **kwargs)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_another_users_private_blueprint_answers_like_a_missing_one(
    api: Api, route: tuple[str, str, Any]
) -> None:
    _private(api)

    hidden = _call(api, api.alice, route, NAME)
    missing = _call(api, api.alice, route, "no-such-lib")

    assert hidden.status_code == missing.status_code == 404, hidden.text
    assert hidden.json()["message"] == missing.json()["message"].replace("no-such-lib", NAME)
    assert _call(api, api.maya, route, NAME).status_code < 400 or route[1] == "/ai/describe"


def test_the_list_and_the_ai_candidates_leave_it_out(api: Api) -> None:
    _private(api)

    def names(caller: Caller) -> set[str]:
        return {b["name"] for b in api.as_(caller, "GET", f"{V1}/blueprints").json()}

    for _ in range(2):  # the first list loads the catalog, the second reuses it
        assert NAME not in names(api.alice)
        assert NAME in names(api.maya) and NAME in names(api.root)  # owner, admin
    ranked = api.as_(
        api.alice, "POST", f"{V1}/ai/recommend", json={"description": "a team library", "top": 20}
    )
    assert ranked.status_code == 200, ranked.text
    assert NAME not in {r["name"] for r in ranked.json()}
    mine = api.as_(
        api.maya, "POST", f"{V1}/ai/recommend", json={"description": "a team library", "top": 20}
    )
    assert NAME in {r["name"] for r in mine.json()}


def test_retire_and_changes_by_another_maintainer_are_404(api: Api) -> None:
    _private(api)
    other = make_caller(api.url, "mo", "maintainer")

    retire = api.as_(other, "DELETE", f"{V1}/blueprints/{NAME}")
    patch = api.as_(other, "PATCH", f"{V1}/blueprints/{NAME}", json={"featured": True})
    missing = api.as_(other, "PATCH", f"{V1}/blueprints/nope", json={"featured": True})

    assert retire.status_code == patch.status_code == missing.status_code == 404
    assert patch.json()["message"] == missing.json()["message"].replace("nope", NAME)
    # and re-registering the name is refused: it belongs to maya
    assert _upload(api, other).status_code == 409


def test_the_fleet_shows_no_newest_version_of_a_blueprint_gone_private(api: Api) -> None:
    assert _upload(api, api.maya).status_code == 201
    made = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=_generate_body(NAME))
    assert made.status_code == 200, made.text
    [before] = api.as_(api.alice, "GET", f"{V1}/fleet").json()
    assert before["latest"] == "1.2.0"

    changed = api.as_(api.maya, "PATCH", f"{V1}/blueprints/{NAME}", json={"visibility": "private"})

    assert changed.status_code == 200, changed.text
    [after] = api.as_(api.alice, "GET", f"{V1}/fleet").json()
    assert after["latest"] is None and after["blueprint"] == NAME
    assert api.as_(api.alice, "GET", f"{V1}/blueprints/{NAME}").status_code == 404


def test_a_group_member_sees_a_blueprint_shared_with_the_group(api: Api) -> None:
    _private(api)
    made = api.as_(api.root, "POST", f"{V1}/groups", json={"name": "team"})
    assert made.status_code == 201, made.text
    added = api.as_(api.root, "PUT", f"{V1}/groups/team/members/bob")
    assert added.json() == {"name": "team", "members": ["bob"]}
    shared = api.as_(api.maya, "PATCH", f"{V1}/blueprints/{NAME}", json={"groups": ["team"]})
    assert shared.status_code == 200, shared.text

    assert api.as_(api.bob, "GET", f"{V1}/blueprints/{NAME}").status_code == 200
    assert api.as_(api.alice, "GET", f"{V1}/blueprints/{NAME}").status_code == 404
    detail = api.as_(api.maya, "GET", f"{V1}/blueprints/{NAME}").json()
    assert (detail["visibility"], detail["groups"], detail["owner"]) == (
        "private",
        ["team"],
        "maya",
    )
    assert api.as_(api.bob, "GET", f"{V1}/blueprints/{NAME}").json()["groups"] == []  # not his

    api.as_(api.root, "DELETE", f"{V1}/groups/team/members/bob")
    assert api.as_(api.bob, "GET", f"{V1}/blueprints/{NAME}").status_code == 404


def test_groups_are_managed_by_admins(api: Api) -> None:
    assert api.as_(api.maya, "POST", f"{V1}/groups", json={"name": "x"}).status_code == 403
    assert api.as_(api.alice, "GET", f"{V1}/groups").status_code == 403
    assert api.as_(api.root, "POST", f"{V1}/groups", json={"name": "x"}).status_code == 201
    assert api.as_(api.root, "POST", f"{V1}/groups", json={"name": "x"}).status_code == 409
    assert api.as_(api.root, "POST", f"{V1}/groups", json={"name": "Bad Name"}).status_code == 422
    unknown = api.as_(api.root, "PUT", f"{V1}/groups/x/members/ghost")
    assert unknown.status_code == 404 and "ghost" in unknown.json()["message"]
    assert api.as_(api.root, "PUT", f"{V1}/groups/y/members/bob").status_code == 404
    api.as_(api.root, "PUT", f"{V1}/groups/x/members/alice")
    assert api.as_(api.root, "GET", f"{V1}/groups").json() == [{"name": "x", "members": ["alice"]}]
    assert api.as_(api.root, "DELETE", f"{V1}/groups/x").status_code == 204
    assert api.as_(api.root, "GET", f"{V1}/groups").json() == []


def test_only_the_owner_or_an_admin_changes_who_sees_it(api: Api) -> None:
    assert _upload(api, api.maya).status_code == 201
    other = make_caller(api.url, "mo", "maintainer")
    body = {"visibility": "private"}

    refused = api.as_(other, "PATCH", f"{V1}/blueprints/{NAME}", json=body)
    member = api.as_(api.alice, "PATCH", f"{V1}/blueprints/{NAME}", json={"featured": True})
    builtin = api.as_(api.root, "PATCH", f"{V1}/blueprints/lib-python", json=body)
    by_admin = api.as_(api.root, "PATCH", f"{V1}/blueprints/{NAME}", json=body)

    assert refused.status_code == 403 and "owner" in refused.json()["message"]
    assert member.status_code == 403
    assert builtin.status_code == 409 and "always public" in builtin.json()["message"]
    assert by_admin.status_code == 200 and by_admin.json()["visibility"] == "private"


def test_featured_and_deprecated_with_a_replacement(api: Api) -> None:
    path = f"{V1}/blueprints/lib-python"
    no_replacement = api.as_(api.maya, "PATCH", path, json={"deprecated": True})
    unknown = api.as_(api.maya, "PATCH", path, json={"deprecated": True, "replacement": "zz"})
    itself = api.as_(
        api.maya, "PATCH", path, json={"deprecated": True, "replacement": "lib-python"}
    )
    extra = api.as_(api.maya, "PATCH", path, json={"featured": True, "owner": "maya"})
    assert no_replacement.status_code == 422 and no_replacement.json()["where"] == "replacement"
    assert unknown.status_code == 404
    assert itself.status_code == 422
    assert extra.status_code == 422  # no mass assignment

    done = api.as_(
        api.maya,
        "PATCH",
        path,
        json={"featured": True, "deprecated": True, "replacement": "web-fastapi"},
    )

    assert done.status_code == 200, done.text
    shown = api.as_(api.alice, "GET", path).json()
    assert (shown["featured"], shown["deprecated"], shown["replacement"]) == (
        True,
        True,
        "web-fastapi",
    )
    listed = {b["name"]: b for b in api.as_(api.alice, "GET", f"{V1}/blueprints").json()}
    assert listed["lib-python"]["replacement"] == "web-fastapi"
    assert listed["web-fastapi"]["deprecated"] is False
    undone = api.as_(api.maya, "PATCH", path, json={"deprecated": False})
    assert undone.json()["replacement"] is None


def test_stars_and_the_sort_orders(api: Api) -> None:
    assert _upload(api, api.maya).status_code == 201
    for caller in (api.alice, api.bob):
        starred = api.as_(caller, "PUT", f"{V1}/blueprints/{NAME}/star")
        assert starred.status_code == 200, starred.text
    again = api.as_(api.bob, "PUT", f"{V1}/blueprints/{NAME}/star")
    assert again.json() == {"name": NAME, "starred": True, "stars": 2}  # idempotent
    api.as_(api.alice, "PUT", f"{V1}/blueprints/cli-click/star")
    made = api.as_(api.alice, "POST", f"{V1}/projects/generate", json=_generate_body("lib-python"))
    assert made.status_code == 200

    def order(sort: str) -> list[str]:
        response = api.as_(api.alice, "GET", f"{V1}/blueprints", params={"sort": sort})
        assert response.status_code == 200, response.text
        return [b["name"] for b in response.json()]

    assert order("stars")[:2] == [NAME, "cli-click"]
    assert order("uses")[0] == "lib-python"
    assert order("recent")[0] == NAME  # the only registered one: built-ins come after
    assert order("name") == sorted(order("name"))
    assert api.as_(api.alice, "GET", f"{V1}/blueprints/{NAME}").json()["starred"] is True
    assert api.as_(api.root, "GET", f"{V1}/blueprints/{NAME}").json()["starred"] is False
    bad = api.as_(api.alice, "GET", f"{V1}/blueprints", params={"sort": "evil"})
    assert bad.status_code == 422
    gone = api.as_(api.alice, "DELETE", f"{V1}/blueprints/{NAME}/star")
    assert gone.json() == {"name": NAME, "starred": False, "stars": 1}


def test_diff_and_update_of_a_project_whose_blueprint_went_private_are_404(api: Api) -> None:
    from .test_jobs import wait_done
    from .test_update_job import README_V1, archive, generated, register

    register(api, archive("1.0.0", README_V1))
    pid = generated(api, api.alice)
    assert api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff").status_code == 200
    hidden = api.as_(api.maya, "PATCH", f"{V1}/blueprints/shelf-bp", json={"visibility": "private"})
    assert hidden.status_code == 200, hidden.text

    diff = api.as_(api.alice, "GET", f"{V1}/projects/{pid}/diff")
    job = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/update")

    assert diff.status_code == 404 and diff.json()["message"] == "no blueprint named shelf-bp"
    if job.status_code == 202:  # refused when it runs
        done = wait_done(api, api.alice, job.json()["id"])
        assert done["status"] == "failed" and "no blueprint named shelf-bp" in done["error"]
    else:
        assert job.status_code == 404


def test_analytics_leave_out_a_private_blueprint_the_maintainer_may_not_see(api: Api) -> None:
    _private(api)
    made = api.as_(api.maya, "POST", f"{V1}/projects/generate", json=_generate_body(NAME))
    assert made.status_code == 200, made.text
    other = make_caller(api.url, "mo", "maintainer")

    def names(caller: Caller) -> tuple[set[str], set[str]]:
        body = api.as_(caller, "GET", f"{V1}/analytics").json()
        made = {g["blueprint"] for g in body["generations"]}
        return made, {v["blueprint"] for v in body["versions"]}

    assert names(api.maya) == ({NAME}, {NAME})  # the owner
    assert names(api.root) == ({NAME}, {NAME})  # an admin
    assert names(other) == (set(), set())  # as if it had never been used

"""``/projects``, a project's page and ``/activity``: what the API's routes show, as pages."""

from __future__ import annotations

import re

from .conftest import Site, make_user, sign_in
from .support import HOSTILE, PASSWORD
from .test_pages import DEMO_FORM


def _generate(site: Site, name: str = "shop") -> int:
    """alice downloads a project through the page; its id."""
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "project": name, "v.db_password": "s3cret-pw"}
    response = client.post("/blueprints/web-demo/download", data=form)
    assert response.status_code == 200, response.text
    return int(response.headers["x-project-id"])


def _set_remote(site: Site, project_id: int, url: str) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.db.models import Project

    with session_factory(site.url).begin() as session:
        row = session.get(Project, project_id)
        assert row is not None
        row.remote_url, row.provider = url, "github"


def test_projects_list_and_page(site: Site) -> None:
    project_id = _generate(site)
    _set_remote(site, project_id, "https://github.com/alice/shop")
    client = site.new_client()
    sign_in(client)
    listed = client.get("/projects").text
    assert f'<a href="/projects/{project_id}">shop</a>' in listed
    assert '<a href="https://github.com/alice/shop" rel="noopener noreferrer">' in listed
    assert "2.1.0" in listed
    shown = client.get(f"/projects/{project_id}")
    assert shown.status_code == 200
    assert "<code>shop_app</code>" in shown.text and "<code>Apache-2.0</code>" in shown.text
    assert "s3cret-pw" not in shown.text and "db_password" not in shown.text
    assert "<code>generate</code>" in shown.text  # its activity row
    api = client.get(f"/api/v1/projects/{project_id}").json()
    assert api["remote_url"] == "https://github.com/alice/shop" and api["provider"] == "github"


def test_someone_elses_project_is_not_found_but_an_admin_sees_it(site: Site) -> None:
    project_id = _generate(site)
    make_user(site.url, "bob", "member", PASSWORD)
    make_user(site.url, "ada", "admin", PASSWORD)
    bob = site.new_client()
    sign_in(bob, "bob")
    assert bob.get(f"/projects/{project_id}").status_code == 404
    assert "shop" not in bob.get("/projects").text.split("<main>")[1]
    assert "shop" not in bob.get("/activity").text.split("<main>")[1]
    ada = site.new_client()
    sign_in(ada, "ada")
    assert ada.get(f"/projects/{project_id}").status_code == 200
    assert f'href="/projects/{project_id}"' in ada.get("/activity").text


def test_remote_and_answers_render_as_text(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.data_dir": HOSTILE, "v.db_password": "pw-xyz"}
    response = client.post("/blueprints/web-demo/download", data=form)
    project_id = int(response.headers["x-project-id"])
    _set_remote(site, project_id, "javascript:alert(1)")
    for html in (client.get("/projects").text, client.get(f"/projects/{project_id}").text):
        assert 'href="javascript:' not in html and "<script>alert" not in html
        assert "javascript:alert(1)" in html
    assert (
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        in client.get(f"/projects/{project_id}").text
    )


def test_activity_filters_and_pages(site: Site) -> None:
    first = _generate(site, "one")
    _generate(site, "two")
    client = site.new_client()
    sign_in(client)
    everything = client.get("/activity").text
    assert everything.count("<code>generate</code>") == 2
    assert "<code>session.login</code>" in everything
    only = client.get("/activity", params={"action": "generate", "project": str(first)}).text
    assert only.count("<code>generate</code>") == 1 and f'href="/projects/{first}"' in only
    assert 'value="generate"' in only  # the filter stays in the form
    nobody = client.get("/activity", params={"actor": "nobody"}).text
    assert "No activity." in nobody
    today = client.get("/activity", params={"since": "2000-01-01", "until": "2999-12-31"}).text
    assert today.count("<code>generate</code>") == 2
    future = client.get("/activity", params={"since": "2999-01-01"}).text
    assert "No activity." in future
    bad = client.get("/activity", params={"since": "yesterday"})
    assert bad.status_code == 422 and "since: give a date as YYYY-MM-DD" in bad.text
    assert client.get("/activity", params={"project": "x"}).status_code == 422


def test_activity_pages_older_rows(site: Site) -> None:
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import get_user_by_name, log_activity

    with session_factory(site.url).begin() as session:
        alice = get_user_by_name(session, "alice")
        assert alice is not None
        for n in range(60):
            log_activity(session, "test.row", actor="alice", user_id=alice.id, target=f"t{n}")
    client = site.new_client()
    sign_in(client)
    first = client.get("/activity", params={"action": "test.row"}).text
    assert first.count("<code>test.row</code>") == 50
    older = re.search(r'href="/activity\?([^"]+)" id="older"', first)
    assert older is not None
    second = client.get("/activity?" + older.group(1).replace("&amp;", "&")).text
    assert second.count("<code>test.row</code>") == 10 and 'id="older"' not in second


def test_activity_csv_export_follows_the_filters(site: Site) -> None:
    import csv
    import io

    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import get_user_by_name, log_activity

    _generate(site)
    with session_factory(site.url).begin() as session:
        alice = get_user_by_name(session, "alice")
        assert alice is not None
        log_activity(session, "x.y", actor="alice", user_id=alice.id, target="=HYPERLINK(1)")
    client = site.new_client()
    sign_in(client)
    page = client.get("/activity", params={"action": "generate"}).text
    link = re.search(r'href="(/api/v1/activity/csv\?[^"]*)" id="export"', page)
    assert link is not None, page
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="activity.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["id", "at", "actor", "user_id", "action"]
    assert [r[4] for r in rows[1:]] == ["generate"]  # the filter holds
    everything = client.get("/api/v1/activity/csv").text
    targets = [r[6] for r in csv.reader(io.StringIO(everything))]
    assert "'=HYPERLINK(1)" in targets  # no formula reaches a spreadsheet
    assert "session.login" in everything
    make_user(site.url, "bob", "member", PASSWORD)
    bob = site.new_client()
    sign_in(bob, "bob")
    assert "generate" not in bob.get("/api/v1/activity/csv").text  # alice's rows stay hers
    assert site.new_client().get("/api/v1/activity/csv").status_code == 401

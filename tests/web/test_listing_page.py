"""The maintainers' marks on the blueprint's page: plain forms (no JavaScript needed) with
the session's CSRF token, the API's role check (maintainer or admin; a member sees no
form and gets 403), the API's use case (same validation, same activity row), and the
catalog's badges following the posted form."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import Site, make_user, sign_in
from .test_marketplace_page import _api, _card

PASSWORD = "maintainer password long"


def _maintainer(site: Site, name: str = "mo", role: str = "maintainer") -> tuple[TestClient, str]:
    client = site.new_client()
    make_user(site.url, name, role, PASSWORD)
    return client, sign_in(client, name, PASSWORD)


def _marks(site: Site, name: str) -> tuple[bool, bool, str | None]:
    got = _api(site, "GET", f"/blueprints/{name}").json()  # type: ignore[attr-defined]
    return got["featured"], got["deprecated"], got["replacement"]


def _activity(site: Site) -> list[tuple[str, str, dict[str, object]]]:
    from sqlalchemy import select

    from codeforge.db.engine import session_factory
    from codeforge.db.models import Activity

    with session_factory(site.url)() as session:
        rows = session.scalars(select(Activity).where(Activity.action == "blueprint.listing"))
        return [(str(r.actor), r.target, r.details) for r in rows]


def test_a_maintainer_marks_and_the_catalog_badges_follow(site: Site) -> None:
    client, csrf = _maintainer(site)
    page = client.get("/blueprints/lib-python").text
    assert 'id="mark-featured"' in page and 'id="mark-deprecated"' in page
    assert 'name="featured" value="1"' in page and "Clear the deprecation" not in page

    featured = client.post(
        "/blueprints/lib-python/listing",
        data={"csrf_token": csrf, "featured": "1"},
        follow_redirects=False,
    )
    deprecated = client.post(
        "/blueprints/lib-python/listing",
        data={"csrf_token": csrf, "deprecated": "1", "replacement": " web-demo "},
    )

    assert featured.status_code == 303
    assert featured.headers["location"] == "/blueprints/lib-python"
    assert deprecated.status_code == 200 and deprecated.url.path == "/blueprints/lib-python"
    assert 'deprecated</span> use <a href="/blueprints/web-demo">web-demo</a>' in deprecated.text
    assert 'name="featured" value="0"' in deprecated.text
    assert "Clear the deprecation" in deprecated.text and 'value="web-demo"' in deprecated.text
    card = _card(client.get("/").text, "lib-python")
    assert '<span class="badge featured">featured</span>' in card
    assert '<span class="badge deprecated">deprecated</span>' in card
    assert '<a href="/blueprints/web-demo">web-demo</a>' in card
    assert _marks(site, "lib-python") == (True, True, "web-demo")

    client.post("/blueprints/lib-python/listing", data={"csrf_token": csrf, "featured": "0"})
    cleared = client.post(
        "/blueprints/lib-python/listing",
        data={"csrf_token": csrf, "deprecated": "0", "replacement": "web-demo"},
    )

    assert cleared.status_code == 200
    card = _card(client.get("/").text, "lib-python")
    assert "badge featured" not in card and "badge deprecated" not in card
    assert _marks(site, "lib-python") == (False, False, None)
    assert _activity(site) == [
        ("mo", "blueprint:lib-python", {"featured": True}),
        ("mo", "blueprint:lib-python", {"deprecated": True, "replacement": "web-demo"}),
        ("mo", "blueprint:lib-python", {"featured": False}),
        ("mo", "blueprint:lib-python", {"deprecated": False, "replacement": None}),
    ]


def test_a_member_sees_no_form_and_gets_403(site: Site) -> None:
    alice = site.client
    csrf = sign_in(alice)

    page = alice.get("/blueprints/lib-python").text
    posted = alice.post(
        "/blueprints/lib-python/listing", data={"csrf_token": csrf, "featured": "1"}
    )

    assert page.count("<form") > 0 and "mark-featured" not in page and "/listing" not in page
    assert posted.status_code == 403 and "this needs the maintainer role (you are member)" in (
        posted.text
    )
    assert _marks(site, "lib-python") == (False, False, None)
    admin, admin_csrf = _maintainer(site, "root", "admin")
    assert 'id="mark-featured"' in admin.get("/blueprints/lib-python").text
    done = admin.post(
        "/blueprints/lib-python/listing", data={"csrf_token": admin_csrf, "featured": "1"}
    )
    assert done.status_code == 200 and _marks(site, "lib-python")[0] is True


def test_the_form_needs_the_csrf_token(site: Site) -> None:
    client, _csrf = _maintainer(site)

    missing = client.post("/blueprints/lib-python/listing", data={"featured": "1"})
    wrong = client.post(
        "/blueprints/lib-python/listing", data={"csrf_token": "forged", "featured": "1"}
    )
    anonymous = site.new_client().post(
        "/blueprints/lib-python/listing", data={"featured": "1"}, follow_redirects=False
    )

    assert missing.status_code == wrong.status_code == 403
    assert "CSRF token is missing or wrong" in missing.text
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    assert _marks(site, "lib-python") == (False, False, None)
    assert _activity(site) == []


def test_bad_input_is_refused_on_the_page_and_escaped(site: Site) -> None:
    client, csrf = _maintainer(site)
    hostile = "<script>alert(1)</script>"

    def post(**data: str) -> tuple[int, str]:
        done = client.post("/blueprints/lib-python/listing", data={"csrf_token": csrf, **data})
        return done.status_code, done.text

    bad_name = post(deprecated="1", replacement=hostile)
    empty = post(deprecated="1", replacement="")
    itself = post(deprecated="1", replacement="lib-python")
    unknown = post(deprecated="1", replacement="no-such")
    odd = post(featured="yes")
    nothing = post()
    private_hidden = client.post(
        "/blueprints/no-such/listing", data={"csrf_token": csrf, "featured": "1"}
    )

    assert bad_name[0] == 422 and "<script>" not in bad_name[1]
    assert "the replacement &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; is not a" in bad_name[1]
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in bad_name[1]  # kept, escaped
    assert empty[0] == 422 and "needs the name of its replacement" in empty[1]
    assert itself[0] == 422 and "lib-python cannot replace itself" in itself[1]
    assert unknown[0] == 404 and "no blueprint named no-such" in unknown[1]
    assert odd[0] == 422 and "featured must be 1 or 0, not &#39;yes&#39;" in odd[1]
    assert nothing[0] == 422 and "the form sent no mark to change" in nothing[1]
    assert private_hidden.status_code == 404
    for _, text in (bad_name, empty, itself, unknown, odd):
        assert re.search(r'<p class="error" role="alert">', text) and 'id="mark-featured"' in text
    assert _marks(site, "lib-python") == (False, False, None)
    assert _activity(site) == []


def test_a_private_blueprint_stays_hidden_from_a_maintainer_who_may_not_see_it(
    site: Site,
) -> None:
    """The same visibility as the API: another maintainer's private blueprint is a 404."""
    made = _api(site, "PATCH", "/blueprints/web-demo", json={"visibility": "private"})
    assert made.status_code == 200  # type: ignore[attr-defined]
    client, csrf = _maintainer(site)

    hidden = client.post("/blueprints/web-demo/listing", data={"csrf_token": csrf, "featured": "1"})
    replaced = client.post(
        "/blueprints/lib-python/listing",
        data={"csrf_token": csrf, "deprecated": "1", "replacement": "web-demo"},
    )

    assert hidden.status_code == replaced.status_code == 404
    assert "no blueprint named web-demo" in hidden.text
    assert "no blueprint named web-demo" in replaced.text
    assert [target for _, target, _ in _activity(site)] == ["blueprint:web-demo"]  # the PATCH

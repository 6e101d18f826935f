"""The catalog page's marketplace: sort in the URL, featured/deprecated badges, star counts,
a star button that is a plain form with CSRF, and private blueprints shown only to those
the API shows them to (the same 404 as a missing name everywhere else)."""

from __future__ import annotations

import re

from .conftest import Site, make_user, sign_in

V1 = "/api/v1"


def _api(site: Site, method: str, path: str, key: str | None = None, **kwargs: object) -> object:
    headers = {"Authorization": f"Bearer {key or site.maintainer_key}"}
    return site.client.request(method, V1 + path, headers=headers, **kwargs)  # type: ignore[arg-type]


def _card(html: str, name: str) -> str:
    found = re.search(
        r'<li class="card[^"]*">\s*<h2><a href="/blueprints/' + re.escape(name) + r'".*?</li>',
        html,
        re.S,
    )
    assert found is not None, f"no card for {name}"
    return found.group(0)


def _names(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*">\s*<h2><a href="/blueprints/([^"]+)"', html)


def test_badges_stars_and_the_star_form_without_javascript(site: Site) -> None:
    client = site.client
    csrf = sign_in(client)
    marked = _api(
        site,
        "PATCH",
        "/blueprints/lib-python",
        json={"featured": True, "deprecated": True, "replacement": "web-demo"},
    )
    assert marked.status_code == 200  # type: ignore[attr-defined]

    card = _card(client.get("/").text, "lib-python")
    assert '<span class="badge featured">featured</span>' in card
    assert '<span class="badge deprecated">deprecated</span>' in card
    assert '<a href="/blueprints/web-demo">web-demo</a>' in card
    assert '<span class="stars">0</span>' in card and 'name="csrf_token"' in card

    starred = client.post(
        "/blueprints/web-demo/star",
        data={"csrf_token": csrf, "on": "1", "next": "/?sort=stars"},
        follow_redirects=False,
    )

    assert starred.status_code == 303 and starred.headers["location"] == "/?sort=stars"
    page = client.get("/?sort=stars").text
    assert _names(page)[0] == "web-demo"
    card = _card(page, "web-demo")
    assert '<span class="stars">1</span>' in card and 'aria-pressed="true"' in card
    assert 'name="next" value="/?sort=stars"' in card
    assert _api(site, "GET", "/blueprints/web-demo").json()["stars"] == 1  # type: ignore[attr-defined]
    blueprint_page = client.get("/blueprints/lib-python").text
    assert 'deprecated</span> use <a href="/blueprints/web-demo">web-demo</a>' in blueprint_page
    unstarred = client.post(
        "/blueprints/web-demo/star", data={"csrf_token": csrf, "on": "0", "next": "//evil.example"}
    )
    assert unstarred.status_code == 200 and unstarred.url.path == "/"  # never off-site
    assert '<span class="stars">0</span>' in _card(unstarred.text, "web-demo")


def test_the_star_form_needs_the_csrf_token(site: Site) -> None:
    sign_in(site.client)

    forged = site.client.post("/blueprints/web-demo/star", data={"on": "1"})

    assert forged.status_code == 403
    assert _api(site, "GET", "/blueprints/web-demo").json()["stars"] == 0  # type: ignore[attr-defined]


def test_sort_lives_in_the_url_with_search_and_tag(site: Site) -> None:
    sign_in(site.client)

    page = site.client.get("/?sort=recent&q=demo").text

    assert _names(page) == ["web-demo"]
    assert '<option value="recent" selected>' in page
    assert 'name="next" value="/?q=demo&amp;sort=recent"' in page
    assert _names(site.client.get("/?sort=recent").text)[0] == "web-demo"  # the registered one
    by_stars = site.client.get("/?sort=stars").text
    assert re.search(r'href="/\?tag=[a-z-]+&amp;sort=stars"', by_stars)  # tag links keep it
    assert site.client.get("/?sort=evil").status_code == 422


def test_a_private_blueprint_is_shown_as_the_api_shows_it(site: Site) -> None:
    """The page asks the API's use cases: the same visibility and the same 404s."""
    alice = site.client
    csrf = sign_in(alice)
    made = _api(site, "PATCH", "/blueprints/web-demo", json={"visibility": "private"})
    assert made.status_code == 200  # type: ignore[attr-defined]

    assert "web-demo" not in _names(alice.get("/").text)
    hidden, missing = alice.get("/blueprints/web-demo"), alice.get("/blueprints/no-such")
    assert hidden.status_code == missing.status_code == 404
    assert "no blueprint named web-demo" in hidden.text
    star = alice.post("/blueprints/web-demo/star", data={"csrf_token": csrf, "on": "1"})
    assert star.status_code == 404 and "no blueprint named web-demo" in star.text
    preview = alice.post(
        "/blueprints/web-demo/preview", data={"csrf_token": csrf, "project": "demo"}
    )
    assert preview.status_code == 404

    owner = site.new_client()
    make_user(site.url, "root", "admin", "admin password long")
    sign_in(owner, "root", "admin password long")
    assert "web-demo" in _names(owner.get("/").text)  # admins see every blueprint
    assert owner.get("/blueprints/web-demo").status_code == 200

"""The web page over plain HTTP (JavaScript off): sign in, catalog, form, preview, zip, security."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import invoke

from .conftest import Site, csrf_of, sign_in
from .support import zip_files

DEMO_FORM = {
    "project": "shop",
    "version": "2.1.0",
    "v.package": "shop_app",
    "v.port": "9000",
    "v.ratio": "0.25",
    "v.use_db": ["false", "true"],
    "v.license": "Apache-2.0",
    "v.features": ["", "docs", "docker"],
    "v.data_dir": "var/data",
}


def test_pages_need_a_session(site: Site) -> None:
    client = site.new_client()
    for path in ("/", "/blueprints/web-demo"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"


def test_sign_in_and_out(site: Site) -> None:
    client = site.new_client()
    token = csrf_of(client.get("/login").text)
    wrong = client.post("/login", data={"csrf_token": token, "name": "alice", "password": "nope"})
    assert wrong.status_code == 401
    assert "the name and password, or the API key, are not valid" in wrong.text
    no_token = client.post("/login", data={"name": "alice", "password": "x"})
    assert no_token.status_code == 403
    csrf = sign_in(client)
    assert client.get("/api/v1/session").json()["csrf_token"] == csrf  # the API's own session
    assert client.post("/logout", data={}).status_code == 403  # no CSRF token
    done = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_catalog_search_and_tag_live_in_the_url(site: Site) -> None:
    client = site.new_client()
    sign_in(client)
    everything = client.get("/").text
    assert "web-fastapi" in everything and "web-demo" in everything and "lib-python" in everything
    found = client.get("/", params={"q": "demo page"}).text
    assert "web-demo" in found and "web-fastapi" not in found
    tagged = client.get("/", params={"tag": "fastapi"}).text
    assert "web-fastapi" in tagged and "lib-python" not in tagged
    assert "No blueprint matches" in client.get("/", params={"q": "zzz-nothing"}).text


def test_hostile_text_renders_as_text(site: Site) -> None:
    client = site.new_client()
    sign_in(client)
    for html in (client.get("/").text, client.get("/blueprints/web-demo").text):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; javascript:alert(1)" in html
        assert 'href="javascript:' not in html
        shipped = re.findall(r"<script[^>]*>", html)  # only our static files
        assert set(shipped) <= {
            '<script src="/static/htmx.min.js" defer>',
            '<script src="/static/share.js" defer>',
        }
        assert shipped[0] == '<script src="/static/htmx.min.js" defer>'

    page = client.get("/blueprints/web-demo").text
    assert "&lt;script&gt;tag&lt;/script&gt;" in page
    form = {**DEMO_FORM, "csrf_token": csrf_of(page), "v.data_dir": "<script>x</script>"}
    shown = client.post("/blueprints/web-demo/check", data=form).text
    assert "&lt;script&gt;x&lt;/script&gt;" in shown and "<script>x" not in shown


def test_security_headers(site: Site) -> None:
    client = site.new_client()
    response = client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("style-src")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "same-origin"
    assert "content-security-policy" not in client.get("/api/v1/docs").headers


def test_form_shows_every_type_and_when_on_submit(site: Site) -> None:
    client = site.new_client()
    sign_in(client)
    page = client.get("/blueprints/web-demo").text
    assert 'name="v.port"' in page and 'name="v.license"' in page and "Python import name" in page
    assert 'value="my_project"' in page  # computed default
    assert 'name="v.db_url"' not in page  # when: use_db is false
    form = {**DEMO_FORM, "csrf_token": csrf_of(page)}
    shown = client.post("/blueprints/web-demo/check", data=form).text
    assert 'name="v.db_url"' in shown and 'type="password"' in shown


def test_errors_sit_next_to_their_field_with_the_engine_messages(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.package": "Bad-Name", "v.port": "99999"}
    response = client.post("/blueprints/web-demo/preview", data=form)
    assert response.status_code == 422
    assert '<p class="error" id="e-package">must be a valid Python identifier</p>' in response.text
    assert '<p class="error" id="e-port">must be at least' not in response.text
    assert "must be at most 65535 (got 99999)" in response.text
    api = client.post(
        "/api/v1/projects/preview",
        headers={"X-CSRF-Token": csrf},
        json={"template": "web-demo", "name": "shop", "answers": {"package": "Bad-Name"}},
    )
    assert api.json()["message"] == "must be a valid Python identifier"


def test_preview_shows_the_tree_and_never_the_secret(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.db_password": "hunter2-secret"}
    response = client.post("/blueprints/web-demo/preview", data=form)
    assert response.status_code == 200, response.text
    assert "shop/README.md" in response.text or "README.md" in response.text
    assert "src/shop_app/__init__.py" in response.text
    assert "password set: True" in response.text
    assert "hunter2-secret" not in response.text


def test_download_is_the_api_zip_and_what_init_writes(site: Site, tmp_path: Path) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    missing = client.post("/blueprints/web-demo/download", data={**DEMO_FORM, "csrf_token": csrf})
    assert missing.status_code == 422  # use_db asks for the password, which has no default
    assert (
        '<p class="error" id="e-db_password">no value given and the variable has no default</p>'
        in missing.text
    )
    form = {**DEMO_FORM, "csrf_token": csrf, "v.db_password": "s3cret-pw"}
    response = client.post("/blueprints/web-demo/download", data=form)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    answers = {
        "package": "shop_app",
        "port": "9000",
        "ratio": "0.25",
        "use_db": "true",
        "license": "Apache-2.0",
        "features": "docs,docker",
        "data_dir": "var/data",
        "db_password": "s3cret-pw",
    }
    api = client.post(
        "/api/v1/projects/generate",
        headers={"X-CSRF-Token": csrf},
        json={"template": "web-demo", "name": "shop", "answers": answers},
    )
    assert api.status_code == 200
    assert api.content == response.content
    listed = client.get("/").text
    assert "used 2 times" in listed
    from .support import tree_files, write_blueprint

    folder = write_blueprint(tmp_path / "bp")
    args = ["init", "shop", "-t", str(folder), "-o", str(tmp_path / "cli"), "--defaults"]
    args += ["--no-git"]
    for key, value in answers.items():
        args += ["--data", f"{key}={value}"]
    code, out, _ = invoke(*args)
    assert code == 0, out
    written = tree_files(tmp_path / "cli" / "shop")
    zipped = zip_files(response.content)
    assert sorted(written) == sorted(zipped)
    for path, content in written.items():
        if path.endswith(".codeforge-answers.yml"):
            continue  # records the source: a local folder there, the registered archive here
        assert zipped[path] == content, path


def test_unknown_blueprint_and_forged_forms(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    missing = client.get("/blueprints/no-such-thing")
    assert missing.status_code == 404
    assert "no blueprint named no-such-thing" in missing.text
    for action in ("check", "preview", "download", "fields"):
        forged = client.post(
            f"/blueprints/web-demo/{action}", data={**DEMO_FORM, "csrf_token": "x"}
        )
        assert forged.status_code == 403, action
        assert client.post(f"/blueprints/web-demo/{action}", data=DEMO_FORM).status_code == 403
    fields = client.post("/blueprints/web-demo/fields", data={**DEMO_FORM, "csrf_token": csrf})
    assert fields.status_code == 200
    assert fields.text.startswith('<div id="fields"') and "<html" not in fields.text

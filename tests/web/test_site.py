"""The site around the pages: the same sessions and limits as the API, and a CLI that never loads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from codeforge.api.ratelimit import route_group

from .conftest import Site, make_user, sign_in


def test_page_posts_count_against_the_api_limits() -> None:
    assert route_group("POST", "/login") == route_group("POST", "/api/v1/session") == "auth"
    for action in ("preview", "download"):
        assert route_group("POST", f"/blueprints/web-demo/{action}") == "generate"
    assert route_group("POST", "/blueprints/web-demo/fields") == "write"
    assert route_group("GET", "/") == "read"


def test_a_disabled_user_is_signed_out_of_the_page(site: Site) -> None:
    client = site.new_client()
    sign_in(client)
    assert client.get("/", follow_redirects=False).status_code == 200
    admin = make_user(site.url, "root", "admin", None)
    users = site.client.get("/api/v1/users", headers={"Authorization": f"Bearer {admin}"}).json()
    alice = next(u for u in users if u["name"] == "alice")
    changed = site.client.post(
        f"/api/v1/users/{alice['id']}/disable", headers={"Authorization": f"Bearer {admin}"}
    )
    assert changed.status_code == 200, changed.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/api/v1/session").status_code == 401  # the API agrees


def test_a_session_opened_through_the_api_opens_the_page(site: Site) -> None:
    client = site.new_client()
    opened = client.post("/api/v1/session", json={"api_key": site.maintainer_key})
    assert opened.status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "maya" in page.text and "(maintainer)" in page.text


def test_static_files_are_served_with_the_page_headers(site: Site) -> None:
    response = site.client.get("/static/htmx.min.js")
    assert response.status_code == 200 and b"htmx" in response.content
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert site.client.get("/static/htmx.LICENSE").status_code == 200


def test_init_does_not_import_the_web_page(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from codeforge.cli.main import run\n"
        "try:\n"
        f"    run(['init', 'demo', '-t', 'lib-python', '-o', {str(tmp_path)!r}, '--defaults', '--no-git'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
        "print(sorted(m for m in sys.modules if m.startswith('codeforge.web')))\n"
    )
    env_home = {
        "CODEFORGE_DATA_DIR": str(tmp_path / "d"),
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "c"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env_home},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"

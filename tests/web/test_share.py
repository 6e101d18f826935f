"""The blueprint page's equivalent `codeforge init` command and `starter.zip` URL: rendered on the
server from the form (no JavaScript needed), after a check or preview too, and both true: the
command makes the same project as the form's download, and so does the URL."""

from __future__ import annotations

import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

from .conftest import Site, csrf_of, sign_in
from .support import tree_files, zip_files
from .test_pages import DEMO_FORM


def _shown(page: str) -> tuple[str, str]:
    command = re.search(r'id="share-command" class="mono" readonly value="([^"]*)"', page)
    url = re.search(r'id="share-url" class="mono" readonly value="([^"]*)"', page)
    assert command is not None and url is not None, page[:300]
    return html.unescape(command.group(1)), html.unescape(url.group(1))


def test_defaults_on_the_page(site: Site) -> None:
    client = site.new_client()
    sign_in(client)
    command, url = _shown(client.get("/blueprints/lib-python").text)
    assert command.startswith("codeforge init my-project -t lib-python --defaults --data ")
    assert url.startswith(
        "http://testserver/api/v1/starter.zip?template=lib-python&name=my-project"
    )


def test_after_a_check_the_values_follow_the_form_and_leave_secrets_out(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.db_password": "s3cret-pw", "v.data_dir": "my data"}
    page = client.post("/blueprints/web-demo/check", data=form).text
    command, url = _shown(page)
    assert "s3cret-pw" not in page and "db_password" not in command + url
    words = shlex.split(command)
    assert words[:5] == ["codeforge", "init", "shop", "-t", "web-demo"]
    assert "--defaults" not in words  # a shown secret: init asks for it
    data = [w for w in words[5:] if w != "--data"]
    assert data == [
        "package=shop_app",
        "port=9000",
        "ratio=0.25",
        "use_db=true",
        "db_url=sqlite:///app.db",
        "license=Apache-2.0",
        'features=["docs", "docker"]',
        "data_dir=my data",
    ]
    assert "features=docs&features=docker" in url and "data_dir=my+data" in url
    # After a preview the page renders the same values.
    previewed = client.post("/blueprints/web-demo/preview", data=form).text
    assert _shown(previewed) == (command, url)
    # The fields fragment (htmx) carries them too.
    fragment = client.post("/blueprints/web-demo/fields", data=form).text
    assert _shown(fragment) == (command, url)


def test_the_url_and_the_command_make_what_the_form_downloads(site: Site, tmp_path: Path) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.use_db": "false"}
    page = client.post("/blueprints/web-demo/check", data=form).text
    command, url = _shown(page)
    downloaded = zip_files(client.post("/blueprints/web-demo/download", data=form).content)
    starter = client.get(url.removeprefix("http://testserver"))
    assert starter.status_code == 200, starter.text
    assert zip_files(starter.content) == downloaded
    # The command, run by the real console script against the same blueprint folder
    # (installed by name here would need it registered locally: -t names the folder).
    folder = tmp_path / "web-demo"
    from .support import write_blueprint

    write_blueprint(folder)
    words = shlex.split(command)
    words[words.index("-t") + 1] = str(folder)
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "codeforge", *words[1:], "-o", str(out), "--no-git", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    made = tree_files(out / "shop")
    assert made.keys() == downloaded.keys()
    for name, body in downloaded.items():
        if not name.endswith(".codeforge-answers.yml"):  # its source differs (a folder here)
            assert made[name] == body, name


def test_hostile_values_stay_text(site: Site) -> None:
    client = site.new_client()
    csrf = sign_in(client)
    form = {**DEMO_FORM, "csrf_token": csrf, "v.data_dir": '"><script>alert(1)</script>'}
    page = client.post("/blueprints/web-demo/check", data=form).text
    assert "<script>alert(1)" not in page
    assert csrf_of(page)

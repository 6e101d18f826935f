"""The web page in a real browser: Debian's Chromium driven by Playwright, one server per session.

Screenshots of every page land in tests/artifacts/web/ (git-ignored): look at them.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ci_support import skip_unless_ci
from cli_support import CODEFORGE, invoke
from process_support import die_with_parent

from .conftest import make_user
from .support import PASSWORD, blueprint_zip, tree_files, write_blueprint, zip_files

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
ANSWERS = {
    "package": "shop_app",
    "port": "9000",
    "ratio": "0.25",
    "use_db": "true",
    "license": "Apache-2.0",
    "features": "cli,docs",
    "data_dir": "data",
    "db_url": "sqlite:///app.db",
    "db_password": "s3cret-pw",
}
READY = re.compile(r"codeforge serve: ready on (http://127\.0\.0\.1:\d+)")


def _wait_ready(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 1.0)[0]:
            line = proc.stderr.readline()
            assert line, "serve exited:\n" + "".join(lines)
            lines.append(line)
            found = READY.search(line)
            if found:
                return found.group(1)
    raise AssertionError("serve did not start:\n" + "".join(lines))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ``codeforge serve`` on a free loopback port, with alice and the demo blueprint."""
    if not CHROMIUM.exists():
        skip_unless_ci(
            f"no Chromium at {CHROMIUM} (apt-get install chromium): browser tests skipped"
        )
    from codeforge.settings import default_database_url

    root = tmp_path_factory.mktemp("web-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEFORGE_")}
    for kind in ("config", "data", "cache"):
        env[f"CODEFORGE_{kind.upper()}_DIR"] = str(root / kind)
    # Every test signs in anew from 127.0.0.1: more than the default 10 a minute.
    env["CODEFORGE_RATE_LIMITS_ADDRESS"] = "auth=60/minute"
    # The local AI may answer (the catalog's "describe what you want" box shows when the
    # AI extras are installed; recommend ranks with the embedder, no model starts).
    env["CODEFORGE_AI_API_LOCAL"] = "true"
    proc = subprocess.Popen(
        [str(CODEFORGE), "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,  # gone with pytest, even when pytest is killed
    )
    try:
        url = _wait_ready(proc)
        db = default_database_url(root / "data")
        make_user(db, "alice", "member", PASSWORD)
        make_user(db, "ada", "admin", PASSWORD)
        make_user(db, "bob", "member", PASSWORD)
        key = make_user(db, "maya", "maintainer", None)
        response = httpx.post(
            f"{url}/api/v1/blueprints/upload",
            headers={"Authorization": f"Bearer {key}"},
            files={"archive": ("bp.zip", blueprint_zip(), "application/zip")},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def _sign_in(page: Any, server: str, name: str = "alice") -> None:
    page.goto(f"{server}/")
    assert page.url == f"{server}/login"
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def _init_files(tmp_path: Path) -> dict[str, bytes]:
    """What ``codeforge init`` writes for the demo blueprint with ANSWERS."""
    folder = write_blueprint(tmp_path / "bp")
    args = ["init", "shop", "-t", str(folder), "-o", str(tmp_path / "cli"), "--defaults"]
    args.append("--no-git")
    for key, value in ANSWERS.items():
        args += ["--data", f"{key}={value}"]
    code, out, _ = invoke(*args)
    assert code == 0, out
    return tree_files(tmp_path / "cli" / "shop")


def _same_project(zipped: dict[str, bytes], written: dict[str, bytes]) -> None:
    assert sorted(zipped) == sorted(written)
    for path, content in written.items():
        if not path.endswith(".codeforge-answers.yml"):  # it records the source's address
            assert zipped[path] == content, path


def _fill_the_rest(page: Any) -> None:
    page.fill("#f-port", "9000")
    page.fill("#f-ratio", "0.25")
    page.select_option("#f-license", "Apache-2.0")
    page.check("input[name='v.features'][value='docs']")
    page.fill("#f-db_password", "s3cret-pw")


def test_sign_in_search_fill_preview_download(server: str, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if "/fields" in r.url else None)
    page.goto(f"{server}/login")
    shot(page, "01-login")
    _sign_in(page, server)
    shot(page, "02-catalog")
    if page.locator("#describe").count():  # the AI extras are installed: AI recommend
        page.fill("#describe", "a REST API with FastAPI")
        page.press("#describe", "Enter")
        page.wait_for_url(re.compile(r".*/recommend\?describe=.*"))
        assert page.locator("#recommended li").count() == 3
        assert page.text_content("#recommended li a") == "web-fastapi"
        shot(page, "02b-recommend")
    page.fill("#q", "demo")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r".*\\?q=demo.*"))
    assert page.locator(".card").count() == 1
    shot(page, "03-search")
    page.click("text=web-demo")
    page.wait_for_url(f"{server}/blueprints/web-demo")
    assert page.locator("#f-db_url").count() == 0
    assert page.input_value("#f-package") == "my_project"  # computed from the project name
    # Only the shipped scripts (htmx, share.js): hostile description and tags stay text.
    assert page.locator("script").count() == 2
    assert page.locator("script[src^='/static/']").count() == 2
    shot(page, "04-blueprint")
    page.fill("#f-project", "shop")
    page.check("#f-use_db")  # htmx asks the server: the `when` fields appear
    page.wait_for_selector("#f-db_url")
    assert page.get_attribute("#f-db_password", "type") == "password"
    page.fill("#f-package", "Bad-Name")
    page.locator("#f-package").dispatch_event("change")
    page.wait_for_selector("#e-package")
    assert page.text_content("#e-package") == "must be a valid Python identifier"
    shot(page, "05-invalid")
    page.fill("#f-package", "shop_app")
    page.locator("#f-package").dispatch_event("change")
    page.wait_for_selector("#e-package", state="detached")
    _fill_the_rest(page)
    page.click("text=Preview")
    page.wait_for_selector("#preview")
    page.click("summary:has-text('README.md')")
    assert "password set: True" in (page.text_content("#preview") or "")
    assert "s3cret-pw" not in page.content()  # never shown again
    shot(page, "06-preview")
    page.fill("#f-db_password", "s3cret-pw")
    with page.expect_download() as info:
        page.click("#download")
    data = Path(info.value.path()).read_bytes()
    _same_project(zip_files(data), _init_files(tmp_path))
    # A field's change racing a click: htmx aborts the older request (hx-sync), and says so.
    assert [e for e in errors if not e.startswith(("htmx:sendAbort", "htmx:afterRequest"))] == []
    assert statuses and set(statuses) == {200}, statuses
    context.close()


def test_javascript_off_browse_fill_download(server: str, browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    _sign_in(page, server)
    # The star button is a plain form: it works without JavaScript and keeps the catalog URL.
    page.goto(f"{server}/?sort=stars")
    card = "li.card:has(a[href='/blueprints/web-demo'])"
    before = int(page.inner_text(f"{card} .stars"))
    page.click(f"{card} form.star button")
    page.wait_for_url(f"{server}/?sort=stars")
    assert int(page.inner_text(f"{card} .stars")) == before + 1
    assert page.get_attribute(f"{card} form.star button", "aria-pressed") == "true"
    shot(page, "07-no-js-starred")
    page.click("text=web-demo")
    page.fill("#f-project", "shop")
    page.check("#f-use_db")
    page.fill("#f-package", "shop_app")
    page.click("text=Check answers")  # without htmx the server shows the `when` fields on submit
    page.wait_for_selector("#f-db_password")
    shot(page, "07-no-js-check")
    _fill_the_rest(page)
    with page.expect_download() as info:
        page.click("#download")
    data = Path(info.value.path()).read_bytes()
    _same_project(zip_files(data), _init_files(tmp_path))
    context.close()


def test_the_init_command_and_starter_url_follow_the_form(server: str, browser: Any) -> None:
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, server)
    page.goto(f"{server}/blueprints/web-demo")
    first = page.input_value("#share-command")
    assert first.startswith("codeforge init my-project -t web-demo --defaults --data package=")
    # Typing (no change event yet): share.js rebuilds both at once.
    page.locator("#f-project").fill("shopx")
    assert page.input_value("#share-command").startswith("codeforge init shopx -t web-demo")
    # Leaving the field re-renders the fields (htmx) while the next one is typed in.
    page.locator("#f-data_dir").fill("my data")
    page.wait_for_timeout(500)
    typed = page.input_value("#share-command"), page.input_value("#share-url")
    assert typed[0].startswith("codeforge init shopx -t web-demo")
    assert "--data 'data_dir=my data'" in typed[0]
    assert "name=shopx" in typed[1] and "data_dir=my+data" in typed[1]
    page.check("input[name='v.features'][value='docker']")
    assert 'features=["cli", "docker"]' in page.input_value("#share-command")
    # The change re-renders the fields on the server (htmx): the server's values are the same.
    with page.expect_response(lambda r: r.url.endswith("/fields")):
        page.locator("#f-data_dir").dispatch_event("change")
    page.wait_for_timeout(200)
    from_js = _rebuilt_by_js(page)
    assert (page.input_value("#share-command"), page.input_value("#share-url")) == from_js
    assert "features=cli&features=docker" in from_js[1]
    shot(page, "04b-share")
    page.click("button[data-copy='share-url']")
    page.wait_for_selector("#share-copied:has-text('Copied.')")
    assert page.evaluate("navigator.clipboard.readText()") == from_js[1]
    # The URL downloads the project (the session's cookie signs it in).
    fetched = page.evaluate(
        "url => fetch(url).then(r => [r.status, r.headers.get('content-type')])", from_js[1]
    )
    assert fetched == [200, "application/zip"], fetched
    # A change racing the next one: htmx aborts the older request (hx-sync), and says so.
    assert [e for e in errors if not e.startswith(("htmx:sendAbort", "htmx:afterRequest"))] == []
    context.close()


def _rebuilt_by_js(page: Any) -> tuple[str, str]:
    """What share.js computes from the form now (an input event makes it rebuild)."""
    page.locator("#f-project").dispatch_event("input")
    return page.input_value("#share-command"), page.input_value("#share-url")


FIRST_EVENT = """url => new Promise((resolve, reject) => {
  const source = new EventSource(url);
  source.addEventListener("job", e => { source.close(); resolve(JSON.parse(e.data)); });
  source.onerror = () => { source.close(); reject(new Error("no event")); };
})"""


def test_job_live_then_project_activity_and_keys(server: str, browser: Any) -> None:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, server)
    page.goto(f"{server}/blueprints/lib-python")
    page.fill("#f-project", "jobdemo")
    page.click("#run-job")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{32}$"))
    job_id = page.url.rsplit("/", 1)[1]
    page.wait_for_selector("#job-status:has-text('finished')", timeout=30_000)
    shot(page, "08-job")
    event = page.evaluate(FIRST_EVENT, f"/api/v1/jobs/{job_id}/events")
    assert event["id"] == job_id and event["status"] == "finished"
    with page.expect_download() as info:
        page.click("#job-result")
    assert zip_files(Path(info.value.path()).read_bytes())
    page.click("#job-project")
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    assert "jobdemo" in (page.text_content("h1") or "")
    shot(page, "09-project")
    page.goto(f"{server}/activity?action=generate")
    assert page.locator("#activity tbody tr").count() >= 1
    shot(page, "10-activity")
    page.goto(f"{server}/account")
    page.focus("#key-name")  # keyboard only: type, Tab to the next field, Enter submits
    page.keyboard.type("browser key")
    page.keyboard.press("Enter")
    page.wait_for_selector("#new-key")
    key = page.input_value("#key-value")
    assert key.startswith("cf_")
    shot(page, "11-account")
    page.goto(f"{server}/account")
    assert key not in page.content()
    page.click("button[aria-label='Revoke key browser key']")
    page.wait_for_selector("text=The key is revoked.")
    assert errors == []
    context.close()


def test_admin_disables_a_user_whose_open_page_signs_out(server: str, browser: Any) -> None:
    admin_context, user_context = browser.new_context(), browser.new_context()
    admin, bob = admin_context.new_page(), user_context.new_page()
    _sign_in(bob, server, "bob")
    bob.goto(f"{server}/projects")
    _sign_in(admin, server, "ada")
    admin.click("nav >> text=Dashboard")
    admin.wait_for_url(f"{server}/dashboard")
    assert admin.locator("#chart-days").is_visible()
    shot(admin, "14-dashboard")
    admin.click("nav >> text=Admin")
    admin.wait_for_url(f"{server}/admin")
    shot(admin, "12-admin")
    admin.click("button[aria-label='Disable bob']")
    admin.wait_for_selector("text=The user is disabled")
    bob.reload()
    assert bob.url == f"{server}/login"
    admin.click("button[aria-label='Enable bob']")
    admin.wait_for_selector("text=The user is enabled again")
    bob.goto(f"{server}/admin")  # signed in again, bob is no admin
    _sign_in_here(bob, "bob")
    response = bob.goto(f"{server}/admin")
    assert response is not None and response.status == 403
    shot(bob, "13-admin-forbidden")
    admin_context.close()
    user_context.close()


def _sign_in_here(page: Any, name: str) -> None:
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


def _queued_copy(html: str) -> str:
    """The page of a finished job made to look queued (so job.js runs on it)."""
    html = re.sub(
        r'class="badge finished" id="job-status"([^>]*)>finished',
        r'class="badge queued" id="job-status"\1>queued',
        html,
    )
    html = re.sub(r'<p class="actions">.*?</p>', "", html, flags=re.S)
    return html.replace("</head>", '<script src="/static/job.js" defer></script></head>')


@pytest.mark.parametrize("events", ["sse", "broken"])
def test_job_page_follows_events_or_polls(server: str, browser: Any, events: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, server)
    page.goto(f"{server}/blueprints/lib-python")
    page.fill("#f-project", f"live-{events}")
    page.click("#run-job")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{32}$"))
    job_url = page.url
    page.wait_for_selector("#job-status:has-text('finished')", timeout=30_000)
    job = httpx.get(
        job_url.replace("/jobs/", "/api/v1/jobs/"),
        cookies={c["name"]: c["value"] for c in context.cookies()},
    ).json()
    seen: list[str] = []

    def fake_page(route: Any) -> None:
        real = route.fetch()
        route.fulfill(response=real, body=_queued_copy(real.text()))

    def fake_events(route: Any) -> None:
        if events == "broken":
            route.fulfill(status=500, body="")
            return
        started = {**job, "status": "started", "progress": 40, "stage": "rendering"}
        body = f"retry: 60000\n\nevent: job\ndata: {json.dumps(started)}\n\n"
        body += f"event: job\ndata: {json.dumps(job)}\n\n"
        route.fulfill(status=200, headers={"Content-Type": "text/event-stream"}, body=body)

    page.route(job_url, fake_page, times=1)
    page.route(f"{job_url.replace('/jobs/', '/api/v1/jobs/')}/events", fake_events)
    page.on("framenavigated", lambda frame: seen.append(frame.url))
    page.goto(job_url)
    # job.js saw the job end (through the events, or by polling) and reloaded the real page
    page.wait_for_selector("#job-result", timeout=15_000)
    assert seen.count(job_url) >= 2, seen
    context.close()


AXE = (
    Path(__file__).resolve().parents[2] / ".ci" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
)
AXE_RUN = """() => axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", ")))"""


def test_no_serious_accessibility_violation_on_any_page(server: str, browser: Any) -> None:
    if not AXE.exists():
        skip_unless_ci(f"no axe-core at {AXE} (scripts/test installs it with npm)")
    context = browser.new_context(bypass_csp=True)  # axe is injected as an inline script
    page = context.new_page()
    page.goto(f"{server}/login")
    paths = ["/login"]
    found: dict[str, list[str]] = {}

    def check(path: str) -> None:
        page.goto(f"{server}{path}")
        page.add_script_tag(path=str(AXE))
        problems = page.evaluate(AXE_RUN)
        if problems:
            found[path] = problems

    check("/login")
    _sign_in(page, server, "ada")
    paths = ["/", "/blueprints/web-demo", "/projects", "/jobs", "/activity", "/account"]
    paths += ["/dashboard", "/admin"]
    page.goto(f"{server}/jobs")
    jobs = page.locator("table.rows a[href^='/jobs/']")
    if jobs.count():
        paths.append(jobs.first.get_attribute("href") or "")
    page.goto(f"{server}/projects")
    projects = page.locator("table.rows a[href^='/projects/']")
    if projects.count():
        paths.append(projects.first.get_attribute("href") or "")
    for path in paths:
        check(path)
    assert found == {}, found
    context.close()


def _tab_to(page: Any, selector: str, most: int = 60) -> None:
    """Press Tab until ``selector`` has the focus (it is reachable by keyboard)."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus by Tab")


def test_generate_flow_keyboard_only(server: str, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/login")
    page.keyboard.type("alice")  # the name field has the focus
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/")
    _tab_to(page, "#q")
    page.keyboard.type("lib-python")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*\?q=lib-python.*"))
    _tab_to(page, "a[href='/blueprints/lib-python']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/blueprints/lib-python")
    _tab_to(page, "#f-project")
    page.keyboard.press("Control+A")
    page.keyboard.type("keyboard")
    _tab_to(page, "#run-job")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/jobs/[0-9a-f]{32}$"))
    page.wait_for_selector("#job-status:has-text('finished')", timeout=30_000)
    _tab_to(page, "#job-project")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    assert "keyboard" in (page.text_content("h1") or "")
    context.close()

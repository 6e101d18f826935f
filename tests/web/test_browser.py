"""The web page in a real browser: Debian's Chromium driven by Playwright, one server per session.

Screenshots of every page land in tests/artifacts/web/ (git-ignored): look at them.
"""

from __future__ import annotations

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
from cli_support import CODEFORGE
from process_support import die_with_parent

from .conftest import make_user
from .support import PASSWORD, blueprint_zip

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


def _sign_in(page: Any, server: str) -> None:
    page.goto(f"{server}/")
    assert page.url == f"{server}/login"
    page.fill("#name", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def test_sign_in_search_and_open_a_blueprint(server: str, browser: Any) -> None:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/login")
    shot(page, "01-login")
    _sign_in(page, server)
    shot(page, "02-catalog")
    page.fill("#q", "demo")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r".*\\?q=demo.*"))
    assert page.locator(".card").count() == 1
    shot(page, "03-search")
    page.click("text=web-demo")
    page.wait_for_url(f"{server}/blueprints/web-demo")
    assert page.locator("#f-db_url").count() == 0
    assert page.input_value("#f-package") == "my_project"
    assert page.locator("script").count() == 1  # hostile description and tags stay text
    shot(page, "04-blueprint")
    context.close()

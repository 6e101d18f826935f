"""Benchmark: the web page's server render times, first contentful paint, and JavaScript weight.

Four figures, each against the issue's target:

* **catalog render** - ``GET /`` with ``--blueprints`` registered blueprints (default 200),
  signed in, through the site app in this process (Starlette's test client: no
  network, the whole request: session check, catalog, template); p95 <= 50 ms;
* **form render** - ``GET /blueprints/{name}`` of a blueprint with ``--variables``
  variables (default 30: every type, regex validators, computed defaults, ``when``
  conditions); p95 <= 30 ms;
* **first contentful paint** - the catalog and the form page in headless Chromium
  (``/usr/bin/chromium``, the flags below) from a ``uvicorn`` server on loopback, read
  from the page's ``first-contentful-paint`` entry; p95 <= 500 ms;
* **JavaScript, gzipped** - every ``.js`` file the page ships (``web/static``),
  compressed with gzip -9 one by one and summed; <= 50 KB.

The database is a SQLite file in a scratch folder; the blueprints are registered
through ``POST /api/v1/blueprints/upload``, as a maintainer does. The load average
is printed with the figures: on a shared machine the renders wait for the CPU.

Usage::

    .venv/bin/python benchmarks/bench_web.py                       # 200 blueprints, 30 variables
    .venv/bin/python benchmarks/bench_web.py --runs 200 --fcp-runs 20
    .venv/bin/python benchmarks/bench_web.py --blueprints 5 --variables 5 --runs 5 --no-fcp
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "src" / "codeforge" / "web" / "static"
CHROMIUM = "/usr/bin/chromium"
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
TARGETS = {"catalog_ms": 50.0, "form_ms": 30.0, "fcp_ms": 500.0, "js_gzip_kb": 50.0}
PASSWORD = "bench password 1234"
FORM_NAME = "bench-form"
FCP = """() => new Promise(resolve => {
  const found = performance.getEntriesByName("first-contentful-paint")[0];
  if (found) { resolve(found.startTime); return; }
  new PerformanceObserver(list => resolve(list.getEntries()[0].startTime))
    .observe({type: "paint", buffered: true});
})"""


def p95(samples: list[float]) -> float:
    """The 95th percentile (linear interpolation; the largest sample below 20 samples)."""
    if len(samples) < 20:
        return max(samples)
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p95_ms": round(p95(samples), 2),
        "runs": len(samples),
    }


def _archive(name: str, definition: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr(f"{name}/blueprint.yaml", definition)
        out.writestr(f"{name}/template/README.md.jinja", "# {{ project_name }}\n")
    return buffer.getvalue()


def catalog_blueprint(i: int) -> bytes:
    name = f"bench-{i:03d}"
    tags = ", ".join(["bench", f"group-{i % 10}", "python" if i % 2 else "web"])
    definition = (
        f"name: {name}\nversion: 1.{i % 7}.0\n"
        f'description: "Benchmark blueprint number {i}, for a catalog of many"\n'
        f"tags: [{tags}]\nvariables:\n  package:\n    type: str\n    default: pkg\n"
    )
    return _archive(name, definition)


def form_blueprint(count: int) -> bytes:
    """A blueprint with ``count`` variables cycling through every type and feature."""
    lines = [f"name: {FORM_NAME}", "version: 1.0.0", "description: A long form", "variables:"]
    lines += ["  use_extra:", "    type: bool", "    default: true", "    help: Show the extras"]
    kinds = [
        ["type: str", "default: \"{{ project_name | snake }}\"", "validators:",
         "  - regex: '^[a-z_][a-z0-9_]*$'", "    message: a Python name"],
        ["type: int", "default: 8000", "validators:", "  - min: 1", "  - max: 65535"],
        ["type: float", "default: 0.5"],
        ["type: choice", "choices: [MIT, Apache-2.0, BSD-3-Clause]", "default: MIT"],
        ["type: multichoice", "choices: [cli, docs, docker, ci]", "default: [cli]"],
        ["type: secret", "when: use_extra"],
        ["type: str", "default: data", "when: use_extra", "help: A folder"],
    ]  # fmt: skip
    for i in range(count - 1):
        lines.append(f"  var_{i:02d}:")
        lines += [f"    {line}" for line in kinds[i % len(kinds)]]
    return _archive(FORM_NAME, "\n".join(lines) + "\n")


def make_site(work: Path, blueprints: int, variables: int) -> tuple[Any, str]:
    """The site app over a new SQLite database holding the blueprints and a signed-up user."""
    from codeforge.db.engine import session_factory
    from codeforge.db.repositories import create_api_key, create_user
    from codeforge.settings import load_settings
    from codeforge.web.site import create_site

    url = f"sqlite:///{work / 'codeforge.db'}"
    os.environ["CODEFORGE_CACHE_DIR"] = str(work / "cache")
    settings = load_settings(overrides={"database_url": url})
    app = create_site(settings, log_stream=io.StringIO())
    from codeforge.cache.sessions import hash_password

    with session_factory(url).begin() as session:
        user = create_user(session, "bench", "maintainer")
        user.password_hash = hash_password(PASSWORD)
        _row, key = create_api_key(session, user, "bench")
    return app, key


def register_all(client: Any, key: str, blueprints: int, variables: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    archives = [catalog_blueprint(i) for i in range(blueprints)] + [form_blueprint(variables)]
    for data in archives:
        response = client.post(
            "/api/v1/blueprints/upload",
            headers=headers,
            files={"archive": ("bp.zip", data, "application/zip")},
        )
        if response.status_code != 201:
            raise SystemExit(f"registering a blueprint failed: {response.text}")


def sign_in(client: Any) -> None:
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    done = client.post(
        "/login",
        data={"csrf_token": token.group(1), "name": "bench", "password": PASSWORD},
        follow_redirects=False,
    )
    if done.status_code != 303:
        raise SystemExit(f"signing in failed: {done.status_code} {done.text[:200]}")


def time_get(client: Any, path: str, runs: int, expect: str) -> list[float]:
    """``runs`` timed GETs of ``path`` (two untimed first); each must hold ``expect``."""
    for _ in range(2):
        client.get(path)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or expect not in response.text:
            raise SystemExit(f"GET {path}: {response.status_code} {response.text[:200]}")
    return samples


def js_gzip_kb() -> dict[str, float]:
    sizes = {p.name: len(gzip.compress(p.read_bytes(), 9)) for p in sorted(STATIC.glob("*.js"))}
    return {"files": sizes, "total_kb": round(sum(sizes.values()) / 1024, 2)}  # type: ignore[dict-item]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def first_paints(app: Any, runs: int) -> dict[str, dict[str, float]]:
    """First contentful paint of the catalog and the form page, from uvicorn on loopback."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("uvicorn did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    found: dict[str, list[float]] = {"catalog": [], "form": []}
    failed: list[BaseException] = []

    def drive() -> None:
        # Its own thread: Playwright's sync API refuses a thread whose asyncio loop runs
        # (another sync Playwright in the caller, as in the browser tests' session).
        try:
            _load_pages(base, runs, found)
        except BaseException as exc:  # handed to the caller below
            failed.append(exc)

    try:
        driver = threading.Thread(target=drive)
        driver.start()
        driver.join()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    if failed:
        raise failed[0]
    return {label: summary(samples) for label, samples in found.items()}


def _load_pages(base: str, runs: int, found: dict[str, list[float]]) -> None:
    """Sign in, then load the catalog and the form page ``runs`` times each in new tabs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#name", "bench")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.close()
        for _ in range(runs):
            for label, path in (("catalog", "/"), ("form", f"/blueprints/{FORM_NAME}")):
                tab = context.new_page()
                tab.goto(base + path)
                found[label].append(float(tab.evaluate(FCP)))
                tab.close()
        browser.close()


def measure(
    *, blueprints: int, variables: int, runs: int, fcp_runs: int, work: Path
) -> dict[str, Any]:
    """Every figure, as a dict (see the module docstring)."""
    from fastapi.testclient import TestClient

    app, key = make_site(work, blueprints, variables)
    with TestClient(app) as client:
        register_all(client, key, blueprints, variables)
        sign_in(client)
        from codeforge.sources import builtin_names

        cards = client.get("/").text.count('<li class="card')
        if cards != blueprints + 1 + len(builtin_names()):
            raise SystemExit(f"the catalog shows {cards} cards, not every blueprint")
        catalog = time_get(client, "/", runs, "bench-000")
        form = time_get(client, f"/blueprints/{FORM_NAME}", runs, 'id="f-var_00"')
    result: dict[str, Any] = {
        "blueprints": blueprints,
        "variables": variables,
        "catalog": summary(catalog),
        "form": summary(form),
        "js": js_gzip_kb(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if fcp_runs:
        from codeforge.settings import load_settings
        from codeforge.web.site import create_site

        # A second app over the same database: the first one's lifespan has ended.
        url = f"sqlite:///{work / 'codeforge.db'}"
        site = create_site(load_settings(overrides={"database_url": url}), log_stream=io.StringIO())
        result["fcp"] = first_paints(site, fcp_runs)
    return result


def report(result: dict[str, Any]) -> str:
    def verdict(value: float, target: float) -> str:
        return "ok" if value <= target else "OVER"

    rows = [
        ("catalog render p95", result["catalog"]["p95_ms"], TARGETS["catalog_ms"], "ms"),
        ("form render p95", result["form"]["p95_ms"], TARGETS["form_ms"], "ms"),
    ]
    for label in ("catalog", "form"):
        if "fcp" in result:
            rows.append(
                (f"FCP {label} p95", result["fcp"][label]["p95_ms"], TARGETS["fcp_ms"], "ms")
            )
    rows.append(("JavaScript gzipped", result["js"]["total_kb"], TARGETS["js_gzip_kb"], "KB"))
    lines = [
        f"bench_web: {result['blueprints']} blueprints, a form of {result['variables']} "
        f"variables; load average {result['load']} on {result['cpus']} CPUs",
        "",
        "| figure | median | p95 / total | target | |",
        "| --- | --- | --- | --- | --- |",
    ]
    medians = {
        "catalog render p95": result["catalog"]["median_ms"],
        "form render p95": result["form"]["median_ms"],
    }
    if "fcp" in result:
        medians["FCP catalog p95"] = result["fcp"]["catalog"]["median_ms"]
        medians["FCP form p95"] = result["fcp"]["form"]["median_ms"]
    for name, value, target, unit in rows:
        median = medians.get(name)
        shown = f"{median} {unit}" if median is not None else "-"
        lines.append(
            f"| {name} | {shown} | {value} {unit} | <= {target:g} {unit} | {verdict(value, target)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--blueprints", type=int, default=200)
    parser.add_argument("--variables", type=int, default=30)
    parser.add_argument("--runs", type=int, default=100, help="timed renders per page")
    parser.add_argument("--fcp-runs", type=int, default=10, help="page loads per page in Chromium")
    parser.add_argument("--no-fcp", action="store_true", help="skip Chromium")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    if args.blueprints < 1 or args.variables < 2 or args.runs < 1:
        parser.error("--blueprints >= 1, --variables >= 2 and --runs >= 1")
    fcp_runs = 0 if args.no_fcp else args.fcp_runs
    with tempfile.TemporaryDirectory(prefix="codeforge-bench-web-") as scratch:
        result = measure(
            blueprints=args.blueprints,
            variables=args.variables,
            runs=args.runs,
            fcp_runs=fcp_runs,
            work=Path(scratch),
        )
    print(report(result), end="")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(main())

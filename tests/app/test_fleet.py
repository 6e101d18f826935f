"""The fleet use cases and the pull request text, with collaborators made in the test."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from codeforge.app import fleet
from codeforge.app.fleet_memo import RunResolver
from codeforge.app.forge_access import ForgeOpener
from codeforge.app.publish import save_state
from codeforge.app.update_pr import (
    body_of,
    branch_name,
    origin_target,
    published_target,
    title_of,
)
from codeforge.core.credentials import CredentialInfo
from codeforge.core.merge import Change
from codeforge.core.source import ResolvedSource
from codeforge.core.update import CheckResult, UpdateResult
from codeforge.errors import ConflictError, NotFoundError, UsageError
from codeforge.integrations.forge_gitlab import PublishingGitLab
from codeforge.integrations.forge_repos import PublishingGitHub


def row(index: int, blueprint: str = "tiny", version: str = "1.0.0") -> dict[str, Any]:
    return {
        "id": index, "name": f"p{index}", "path": f"/nowhere/p{index}",
        "blueprint_name": blueprint, "blueprint_version": version,
        "remote_url": None, "updated_at": "2026-01-01T00:00:00",
    }  # fmt: skip


def checker(latest: dict[str, str]) -> Any:
    def check(path: Path) -> CheckResult:
        if path.name not in latest:
            raise NotFoundError("the project folder is gone", where=str(path))
        return CheckResult(path, "tiny", "src", "1.0.0", latest[path.name])

    return check


def test_status_reports_each_project_and_a_broken_one_with_its_error() -> None:
    rows = [row(1), row(2), row(3), row(4, blueprint="other")]
    last = {2: {"at": "2026-06-01T00:00:00"}}
    entries = fleet.status(rows, checker({"p1": "2.0.0", "p2": "1.0.0"}), last, concurrency=2)
    assert [(e.id, e.latest, e.lagging) for e in entries] == [
        (1, "2.0.0", True), (2, "1.0.0", False), (3, None, False), (4, None, False)
    ]  # fmt: skip
    assert entries[2].error == "the project folder is gone (/nowhere/p3)"
    assert (entries[0].last_update, entries[1].last_update) == (
        "2026-01-01T00:00:00",
        "2026-06-01T00:00:00",
    )
    only = fleet.status(rows, checker({}), {}, blueprint="other")
    assert [e.id for e in only] == [4]


def test_one_failure_never_stops_the_others() -> None:
    rows = [row(i) for i in range(1, 7)]
    latest = {f"p{i}": "2.0.0" for i in (1, 2, 3, 4)} | {"p5": "1.0.0"}
    entries = fleet.status(rows, checker(latest), {})
    ran: list[int] = []
    lock = threading.Lock()

    def run_one(entry: fleet.FleetEntry) -> fleet.FleetOutcome:
        with lock:
            ran.append(entry.id)
        if entry.id == 1:
            raise ValueError("boom")
        if entry.id == 2:
            raise ConflictError("the project has uncommitted changes", where=entry.path)
        return fleet.FleetOutcome(entry.id, entry.name, entry.path, "pr-opened", "1.0.0", "2.0.0")

    outcomes = fleet.update(entries, run_one, concurrency=3)
    assert sorted(ran) == [1, 2, 3, 4]  # not the up-to-date one, not the broken one
    assert [(o.id, o.status, o.exit_code) for o in outcomes] == [
        (1, "failed", 1), (2, "failed", 4), (3, "pr-opened", 0), (4, "pr-opened", 0),
        (5, "up-to-date", 0), (6, "failed", 1),
    ]  # fmt: skip
    assert outcomes[0].error == "ValueError: boom"
    assert outcomes[1].error == "the project has uncommitted changes (/nowhere/p2)"
    assert fleet.counts(outcomes) == {"failed": 3, "pr-opened": 2, "up-to-date": 1}


@pytest.mark.parametrize("concurrency", [0, 33, -1])
def test_concurrency_is_bounded(concurrency: int) -> None:
    with pytest.raises(UsageError, match="--concurrency must be between 1 and 32"):
        fleet.update([], lambda e: None, concurrency=concurrency)  # type: ignore[arg-type,return-value]


def result(changes: list[Change]) -> UpdateResult:
    return UpdateResult(Path("/p"), "tiny", "1.0.0", "2.0.0", changes, [], {}, [], [], False, None)


def test_the_body_lists_versions_changes_and_conflicts() -> None:
    made = result(
        [
            Change("CHANGES.md", "add", b"x", None, None),
            Change("README.md.rej", "conflict", b"x", None, None),
            Change("app.py", "conflict", b"x", None, b"y"),
        ]
    )
    body = body_of(made)
    assert title_of(made) == "Update tiny from 1.0.0 to 2.0.0"
    assert "- From version: `1.0.0`" in body and "- To version: `2.0.0`" in body
    assert "### Changed files (3)" in body and "- `CHANGES.md` (add)" in body
    assert "### Conflicts (2)" in body
    assert (
        "- `README.md`: your version is kept; the blueprint's change is in `README.md.rej`" in body
    )
    assert "- `app.py`: conflict markers in the file; resolve them." in body
    assert "No conflicts." in body_of(result([Change("a", "add", b"", None, None)]))


@pytest.mark.parametrize(
    ("blueprint", "version", "branch"),
    [
        ("tiny", "2.0.0", "codeforge/update-tiny-2.0.0"),
        ("web api", "1.0.0-rc.1", "codeforge/update-web-api-1.0.0-rc.1"),
        ("x..y", "1~2^3:4", "codeforge/update-x.y-1-2-3-4"),
        ("a", "1.lock", "codeforge/update-a-1"),
    ],
)
def test_branch_names_are_valid_refs(blueprint: str, version: str, branch: str) -> None:
    assert branch_name(blueprint, version) == branch


def test_the_target_is_what_publish_recorded(tmp_path: Path) -> None:
    assert published_target(tmp_path) is None
    save_state(tmp_path, {"key": "github|github.com|acme|shop", "created": True})
    target = published_target(tmp_path)
    assert target is not None
    assert (target.provider, target.host, target.owner, target.name) == (
        "github", "github.com", "acme", "shop"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "host", "owner", "name"),
    [
        ("https://github.com/acme/shop.git", "github.com", "acme", "shop"),
        ("https://x-token:secret@github.com/acme/shop", "github.com", "acme", "shop"),
        ("git@gitlab.com:group/sub/shop.git", "gitlab.com", "group/sub", "shop"),
        ("ssh://git@gitlab.example.com:2222/g/shop.git", "gitlab.example.com", "g", "shop"),
        ("https://git.example.com:8443/acme/shop.git", "git.example.com:8443", "acme", "shop"),
        ("http://127.0.0.1:8080/acme/shop.git", "http://127.0.0.1:8080", "acme", "shop"),
    ],
)
def test_an_origin_url_names_the_repository(url: str, host: str, owner: str, name: str) -> None:
    asked: list[str] = []

    def provider_for(found: str) -> str:
        asked.append(found)
        return "gitlab"

    target = origin_target(url, provider_for, "project")
    assert (target.provider, target.host, target.owner, target.name) == (
        "gitlab",
        host,
        owner,
        name,
    )
    assert asked == [host]


@pytest.mark.parametrize(
    "url", ["https://github.com/shop.git", "/srv/git/shop.git", "file:///srv/shop", "ext::sh -c x"]
)
def test_an_origin_url_that_names_no_repository_is_refused(url: str) -> None:
    with pytest.raises(UsageError, match="does not name a forge repository"):
        origin_target(url, lambda host: "github", "project")


class CountingResolver:
    """A resolver that answers from a table and counts what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, bool]] = []
        self.lock = threading.Lock()

    def resolve(
        self, ref: str, *, allow_local: bool, trust: bool, vcs_ref: str | None, refresh: bool
    ) -> ResolvedSource:
        with self.lock:
            self.calls.append((ref, vcs_ref, refresh))
        return ResolvedSource(Path(f"/trees/{ref}/{vcs_ref}"), ref, False, "git", ref=vcs_ref)

    def versions(self, source: str) -> list[tuple[str, str]]:
        with self.lock:
            self.calls.append((source, "versions", False))
        return [("v1.0.0", "a" * 40), ("v2.0.0", "b" * 40)]

    def builtin_folders(self) -> list[Path]:
        return []

    def plugin_folders(self, warn: Any) -> list[tuple[str, Path]]:
        return []


def test_a_fleet_run_resolves_each_source_and_ref_once() -> None:
    inner = CountingResolver()
    memo = RunResolver(inner)
    ask = {"allow_local": True, "trust": False}

    def one_project(_: int) -> None:
        memo.resolve("git+src", vcs_ref=None, refresh=True, **ask)  # the newest, fetched
        memo.resolve("git+src", vcs_ref="v1.0.0", refresh=False, **ask)  # the base
        assert memo.versions("git+src")[-1][0] == "v2.0.0"

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one_project, range(20)))
    assert sorted(inner.calls, key=str) == sorted(
        [("git+src", None, True), ("git+src", "v1.0.0", False), ("git+src", "versions", False)],
        key=str,
    )
    assert memo.asked == 3
    # A ref first read without a fetch is fetched once when a refresh is asked for.
    memo.resolve("other", vcs_ref=None, refresh=False, **ask)
    memo.resolve("other", vcs_ref=None, refresh=True, **ask)
    memo.resolve("other", vcs_ref=None, refresh=True, **ask)
    assert inner.calls[-2:] == [("other", None, False), ("other", None, True)]


class ListedStore:
    """A credential store that only lists (provider, host) pairs."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        at = datetime(2026, 1, 1, tzinfo=UTC)
        self.infos = [CredentialInfo(p, h, "default", at, None) for p, h in pairs]

    def list(self) -> list[CredentialInfo]:
        return self.infos


@pytest.mark.parametrize(
    ("host", "stored", "environ", "provider"),
    [
        ("github.com", [], {}, "github"),
        ("https://gitlab.com/", [], {"GITHUB_TOKEN": "t"}, "gitlab"),
        ("git.example.com", [("gitlab", "git.example.com")], {"GITHUB_TOKEN": "t"}, "gitlab"),
        ("git.example.com", [("github", "other.example.com")], {"GITLAB_TOKEN": "t"}, "gitlab"),
    ],
)
def test_the_forge_of_an_origin_host(
    host: str, stored: list[tuple[str, str]], environ: dict[str, str], provider: str
) -> None:
    opener = ForgeOpener(
        [PublishingGitHub(), PublishingGitLab()],
        ListedStore(*stored),  # type: ignore[arg-type]
        environ,
    )
    assert opener.provider_for(host) == provider


@pytest.mark.parametrize(
    ("stored", "environ"),
    [
        ([], {}),
        ([], {"GITHUB_TOKEN": "t", "GITLAB_TOKEN": "u"}),
        ([("github", "git.example.com"), ("gitlab", "git.example.com")], {}),
    ],
)
def test_an_origin_host_of_no_known_forge_is_a_clear_error(
    stored: list[tuple[str, str]], environ: dict[str, str]
) -> None:
    opener = ForgeOpener(
        [PublishingGitHub(), PublishingGitLab()],
        ListedStore(*stored),  # type: ignore[arg-type]
        environ,
    )
    with pytest.raises(UsageError, match=r"cannot tell which forge git\.example\.com is"):
        opener.provider_for("git.example.com")

"""Git sources over a real transport: `git http-backend` behind a threaded server on 127.0.0.1."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cli_support import invoke

from codeforge.errors import NotFoundError, SecurityError

from .git_support import BlueprintRepo, GitHttpServer, versioned_repo

TOKEN = "s3cr3t-t0ken"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[BlueprintRepo, Path, dict[str, str], GitHttpServer]]:
    repo, shas = versioned_repo(tmp_path)
    root = tmp_path / "srv"
    root.mkdir()
    bare = repo.bare(root / "tiny.git")
    with GitHttpServer(root) as server:
        yield repo, bare, shas, server


def init(out: Path, name: str, source: str, *extra: str) -> tuple[int, str]:
    code, _, stderr = invoke(
        "init", name, "-t", source, "--defaults", "--no-git", "-o", str(out), *extra
    )
    return code, stderr


def recorded(project: Path) -> dict[str, str]:
    data = yaml.safe_load((project / ".codeforge-answers.yml").read_text(encoding="utf-8"))
    return dict(data["blueprint"])


def version_of(project: Path) -> str:
    return (project / "VERSION.txt").read_text(encoding="utf-8").strip()


def test_clone_once_reuse_the_cache_and_refresh_on_demand(
    served: tuple[BlueprintRepo, Path, dict[str, str], GitHttpServer], out: Path
) -> None:
    repo, bare, shas, server = served
    source = f"{server.base_url}/tiny.git"
    assert init(out, "first", source) == (0, "")
    assert version_of(out / "first") == "two"
    assert recorded(out / "first")["commit"] == shas["two"]
    fetched = len(server.seen)
    assert fetched > 0

    # Cached: no request at all, for the default, a cached tag, a branch or a commit.
    assert init(out, "second", source) == (0, "")
    assert init(out, "tag", source, "--vcs-ref", "v1.0.0") == (0, "")
    assert init(out, "sha", source, "--vcs-ref", shas["rc"]) == (0, "")
    assert len(server.seen) == fetched
    assert [version_of(out / p) for p in ("second", "tag", "sha")] == ["two", "one", "rc"]

    three = repo.commit("three", "3.0.0")
    repo.push(bare)
    assert init(out, "stale", source) == (0, "")
    assert version_of(out / "stale") == "two", "without --refresh the cached tags are used"
    assert len(server.seen) == fetched
    assert init(out, "fresh", source, "--refresh") == (0, "")
    assert version_of(out / "fresh") == "three"
    assert recorded(out / "fresh")["ref"] == "3.0.0"
    assert recorded(out / "fresh")["commit"] == three
    assert len(server.seen) > fetched

    # A ref the cache lacks is fetched without --refresh.
    repo.commit("four", "4.0.0")
    repo.push(bare)
    assert init(out, "four", source, "--vcs-ref", "4.0.0") == (0, "")
    assert version_of(out / "four") == "four"


def test_the_server_going_away_does_not_matter_once_cached(
    served: tuple[BlueprintRepo, Path, dict[str, str], GitHttpServer], out: Path
) -> None:
    _, _, shas, server = served
    source = f"{server.base_url}/tiny.git"
    assert init(out, "first", source) == (0, "")
    server.root = out / "nothing-here"  # every request now fails
    assert init(out, "second", source) == (0, "")
    assert recorded(out / "second")["commit"] == shas["two"]
    code, stderr = init(out, "third", source, "--refresh")
    assert code == 10
    assert source in stderr and "failed" in stderr
    assert not (out / "third").exists()


def test_credentials_are_never_shown_or_stored(
    served: tuple[BlueprintRepo, Path, dict[str, str], GitHttpServer],
    out: Path,
    codeforge_dirs: dict[str, Path],
) -> None:
    _, _, _, server = served
    host = server.base_url.removeprefix("http://")
    secret_url = f"http://deploy:{TOKEN}@{host}/tiny.git"
    code, stderr = init(out, "p", secret_url)
    assert code == 0, stderr
    assert recorded(out / "p")["source"] == f"http://{host}/tiny.git"
    # git got the credentials (as a header), and only for this repository's URL.
    expected = "Basic " + base64.b64encode(f"deploy:{TOKEN}".encode()).decode()
    assert {auth for _, _, auth in server.seen} == {expected}
    code, stderr = init(out, "q", secret_url, "--vcs-ref", "no-such-tag")
    assert code == NotFoundError.exit_code
    assert TOKEN not in stderr and f"http://{host}/tiny.git" in stderr
    code, stderr = init(out, "r", f"http://deploy:{TOKEN}@{host}/missing.git")
    assert code == 10
    assert TOKEN not in stderr and host in stderr
    for folder in (out, *codeforge_dirs.values()):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert TOKEN.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(
    "url",
    ["http://example.com/org/repo.git", "http://10.1.2.3/repo.git", "http://[fd00::1]/repo.git"],
)
def test_plain_http_is_only_for_loopback(url: str, out: Path) -> None:
    code, stderr = init(out, "p", url)
    assert code == SecurityError.exit_code
    assert "loopback" in stderr

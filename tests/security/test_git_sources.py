"""Surface 5 (sources): git transports, refs, submodules, hooks, caps, links, API limits, trust."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import invoke
from sources.git_support import BlueprintRepo, git

from codeforge.core.engine import SDLCEngine, SilentReporter
from codeforge.errors import ResourceLimitError, SecurityError, UsageError
from codeforge.integrations.git import GitError, run_git
from codeforge.settings import load_settings


def cache_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_ext_and_fd_transports_never_run(tmp_path: Path, out: Path) -> None:
    marker = tmp_path / "marker"
    for source in (f"ext::sh -c touch% {marker}", "ext::sh", "fd::3", "git+ext::sh"):
        code, _, stderr = invoke("init", "p", "-t", source, "--defaults", "-o", str(out))
        assert code == SecurityError.exit_code, stderr
    # Even a caller that hands such a URL to the wrapper directly gets a refusal from git.
    with pytest.raises(GitError):
        run_git(["ls-remote"], tmp_path, operands=[f"ext::sh -c touch% {marker}"])
    assert not marker.exists()
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("ref", ["--upload-pack=touch marker", "-h", "main..other", "HEAD@{0}"])
def test_option_looking_or_range_refs_are_refused_before_git_runs(
    tmp_path: Path, out: Path, codeforge_dirs: dict[str, Path], ref: str
) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("one", "1.0.0")
    code, _, stderr = invoke(
        "init", "p", "-t", str(repo.path), "--vcs-ref", ref, "--defaults", "-o", str(out)
    )
    assert code == UsageError.exit_code
    assert "invalid git ref" in stderr
    assert not (tmp_path / "work" / "marker").exists()
    assert cache_files(codeforge_dirs["cache"]) == []


def test_submodules_are_never_fetched(
    tmp_path: Path, engine: SDLCEngine, codeforge_dirs: dict[str, Path]
) -> None:
    inner = BlueprintRepo(tmp_path / "inner")
    inner.write("secret.txt", "SUBMODULE-CONTENT-7f3a\n")
    inner.commit("inner")
    repo = BlueprintRepo(tmp_path / "work")
    git(repo.path, "submodule", "add", "--quiet", str(inner.path), "template/vendor")
    repo.commit("with-submodule", "1.0.0")
    bare = repo.bare(tmp_path / "remote.git")
    reporter = SilentReporter()
    engine.reporter = reporter
    loaded = engine.load_blueprint(bare.as_uri())
    vendor = loaded.source.path / "template" / "vendor"
    assert vendor.is_dir() and list(vendor.iterdir()) == []
    assert any(
        "submodules are never fetched" in m and "template/vendor" in m for m in reporter.messages
    )
    for path in cache_files(codeforge_dirs["cache"]):
        assert b"SUBMODULE-CONTENT-7f3a" not in path.read_bytes(), path
    # The warning is given again when the cached tree is reused.
    reporter.messages.clear()
    engine.load_blueprint(bare.as_uri())
    assert any("template/vendor" in m for m in reporter.messages)


HOOKS = (
    "pre-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "reference-transaction",
    "pre-push",
    "post-update",
    "update",
    "pre-receive",
    "post-receive",
    "push-to-checkout",
    "fsmonitor-watchman",
    "post-index-change",
    "pre-auto-gc",
    "sendemail-validate",
)


def test_hooks_and_repository_commands_never_run(
    tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran"
    script = f'#!/bin/sh\necho "$0" >> {marker}\n'
    hooks = tmp_path / "evil-hooks"
    hooks.mkdir()
    for name in HOOKS:
        (hooks / name).write_text(script)
        (hooks / name).chmod(0o755)
    # The user's own global config points at hook folders: CodeForge's git ignores them.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        f"[init]\n\ttemplateDir = {tmp_path / 'tpl'}\n[core]\n\thooksPath = {hooks}\n"
    )
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "hooks").symlink_to(hooks)
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("one", "1.0.0")
    for name in HOOKS:  # the template repository's own hooks
        target = repo.path / ".git" / "hooks" / name
        target.parent.mkdir(exist_ok=True)
        target.write_text(script)
        target.chmod(0o755)
    # A hostile repository config: fsmonitor runs a command on `git status`.
    git(repo.path, "config", "core.fsmonitor", f"touch {marker}; false")
    # ...and a filter driver that git would run to compare a modified file.
    git(repo.path, "config", "filter.evil.clean", f"touch {marker}; cat")
    git(repo.path, "config", "filter.evil.smudge", f"touch {marker}; cat")
    repo.write(".gitattributes", "* filter=evil\n")
    repo.write("template/README.md", "modified {{ project_name }}\n")
    repo.write("template/dirty.txt", "uncommitted")
    bare = repo.bare(tmp_path / "remote.git")
    (bare / "hooks").mkdir(exist_ok=True)
    for name in HOOKS:
        (bare / "hooks" / name).write_text(script)
        (bare / "hooks" / name).chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    for i, (source, extra) in enumerate(
        [
            (str(repo.path), ()),
            (str(repo.path), ("--vcs-ref", "HEAD")),
            (bare.as_uri(), ("--refresh",)),
        ]
    ):
        code, _, stderr = invoke(
            "init", f"p{i}", "-t", source, "--defaults", "-o", str(out), *extra
        )
        assert code == 0, stderr
        assert (out / f"p{i}" / ".git").is_dir()  # the project's own first commit ran too
    assert not marker.exists(), marker.read_text()


def test_size_cap(tmp_path: Path, out: Path, codeforge_dirs: dict[str, Path]) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    repo.write("template/blob.bin", os.urandom(600_000))  # incompressible
    repo.commit("big", "1.0.0")
    bare = repo.bare(tmp_path / "remote.git")
    config = codeforge_dirs["config"]
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text("[git]\nmax_bytes = 200000\n")
    code, _, stderr = invoke("init", "p", "-t", bare.as_uri(), "--defaults", "-o", str(out))
    assert code == ResourceLimitError.exit_code
    assert "200000 byte cap" in stderr
    assert not (out / "p").exists()
    assert not list((codeforge_dirs["cache"] / "git").glob("*/repo.git*")), "no clone is kept"
    (config / "config.toml").write_text("[git]\nmax_bytes = 5000000\nmax_files = 2\n")
    code, _, stderr = invoke("init", "p", "-t", bare.as_uri(), "--defaults", "-o", str(out))
    assert code == ResourceLimitError.exit_code
    assert "more than 2 files" in stderr
    (config / "config.toml").write_text("[git]\nmax_bytes = -1\n")
    code, _, stderr = invoke("init", "p", "-t", bare.as_uri(), "--defaults", "-o", str(out))
    assert code == UsageError.exit_code and "git.max_bytes must be a positive number" in stderr
    (config / "config.toml").write_text("")
    code, _, stderr = invoke("init", "p", "-t", bare.as_uri(), "--defaults", "-o", str(out))
    assert code == 0, stderr


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    sock.close()


def test_time_cap(silent_server: int, out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEFORGE_GIT_TIMEOUT", "1.5")
    url = f"http://user:hunter2@127.0.0.1:{silent_server}/x.git"
    code, _, stderr = invoke("init", "p", "-t", url, "--defaults", "-o", str(out))
    assert code == GitError.exit_code
    assert "took longer than 1.5 s" in stderr
    assert "hunter2" not in stderr


def test_links_leaving_the_repository_refuse_it(
    tmp_path: Path, engine: SDLCEngine, codeforge_dirs: dict[str, Path]
) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    (repo.path / "template" / "inside").symlink_to("README.md")
    repo.commit("ok", "1.0.0")
    loaded = engine.load_blueprint(str(repo.path))
    link = loaded.source.path / "template" / "inside"
    assert link.is_symlink() and os.readlink(link) == "README.md"
    for target in ("../../../../etc/passwd", "/etc/passwd", "../.."):
        (repo.path / "template" / "evil").unlink(missing_ok=True)
        (repo.path / "template" / "evil").symlink_to(target)
        sha = repo.commit(f"evil {target}")
        with pytest.raises(SecurityError, match="points outside the repository"):
            engine.load_blueprint(str(repo.path), vcs_ref=sha)
        trees = codeforge_dirs["cache"] / "git"
        assert not list(trees.glob(f"*/trees/{sha}*")) and not list(trees.glob("*/trees/.tmp*"))


def test_a_crafted_tree_with_dot_git_is_refused(tmp_path: Path, engine: SDLCEngine) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    base = repo.commit("base", "1.0.0")
    evil_blob = git(repo.path, "hash-object", "-w", str(repo.path / "blueprint.yaml"))

    def mktree(entries: str) -> str:
        return subprocess.run(
            ["git", "mktree"],
            cwd=repo.path,
            input=entries,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    hooks = mktree(f"100755 blob {evil_blob}\tpost-checkout\n")
    dotgit = mktree(f"040000 tree {hooks}\thooks\n")
    root_tree = git(repo.path, "rev-parse", f"{base}^{{tree}}")
    listing = git(repo.path, "ls-tree", root_tree)
    crafted = mktree(listing + f"\n040000 tree {dotgit}\t.git\n")
    commit = git(repo.path, "commit-tree", crafted, "-p", base, "-m", "crafted")
    git(repo.path, "update-ref", "refs/heads/crafted", commit)
    with pytest.raises((SecurityError, GitError)):
        engine.load_blueprint(str(repo.path), vcs_ref="crafted")


def test_the_api_path_refuses_local_and_network_git_sources(
    tmp_path: Path, engine: SDLCEngine, codeforge_dirs: dict[str, Path]
) -> None:
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("one", "1.0.0")
    bare = repo.bare(tmp_path / "remote.git")
    for source in (bare.as_uri(), str(bare), str(repo.path), "file://localhost" + str(bare)):
        with pytest.raises(SecurityError, match=r"command line only|local folders"):
            engine.render_plan(source, "p", allow_local=False)
    # A network URL from the API could reach internal hosts: only registration (with its
    # address checks) fetches for the API.
    for source in ("https://github.com/org/repo.git", "gh:org/repo", "http://127.0.0.1:9/x.git"):
        with pytest.raises(SecurityError, match="not fetched here"):
            engine.render_plan(source, "p", allow_local=False)
    assert cache_files(codeforge_dirs["cache"] / "git") == []


def test_tasks_from_git_run_only_when_trusted(
    tmp_path: Path, out: Path, codeforge_dirs: dict[str, Path]
) -> None:
    marker = tmp_path / "task-ran"
    repo = BlueprintRepo(
        tmp_path / "work",
        {"tasks": [[sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]]},
    )
    repo.commit("one", "1.0.0")
    root = tmp_path / "remotes"
    root.mkdir()
    bare = repo.bare(root / "team.git")
    source = bare.as_uri()

    def run(name: str, *extra: str) -> int:
        return invoke("init", name, "-t", source, "--defaults", "--no-git", "-o", str(out), *extra)[
            0
        ]

    assert run("a") == SecurityError.exit_code and not marker.exists()
    config = codeforge_dirs["config"]
    config.mkdir(parents=True, exist_ok=True)
    for prefix in (f"{root}-evil", (root / "team-other.git").as_uri(), f"{root}/te"):
        (config / "config.toml").write_text(f"trusted_sources = [{prefix!r}]\n")
        assert run("b") == SecurityError.exit_code and not marker.exists(), prefix
    (config / "config.toml").write_text(f"trusted_sources = [{root.as_uri() + '/'!r}]\n")
    assert run("c") == 0 and marker.exists()
    marker.unlink()
    (config / "config.toml").write_text("")
    assert run("d", "--trust") == 0 and marker.exists()
    assert load_settings().trusted_sources == ()

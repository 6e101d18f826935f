"""Reading git sources and refs, and comparing sources with trusted prefixes."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from codeforge.errors import CodeForgeError, SecurityError, UsageError
from codeforge.redaction import redact
from codeforge.sources import is_trusted, normalise_source
from codeforge.sources.urls import check_ref, looks_like_git_url, parse_git_source
from codeforge.sources.versions import pick_default, sort_versions


@pytest.mark.parametrize(
    ("typed", "url", "public", "normalised"),
    [
        (
            "gh:org/repo",
            "https://github.com/org/repo.git",
            "gh:org/repo",
            "https://github.com/org/repo",
        ),
        (
            "gh:org/repo.git",
            "https://github.com/org/repo.git",
            "gh:org/repo.git",
            "https://github.com/org/repo",
        ),
        (
            "gl:group/sub/repo",
            "https://gitlab.com/group/sub/repo.git",
            "gl:group/sub/repo",
            "https://gitlab.com/group/sub/repo",
        ),
        (
            "https://GitHub.com:443/org/repo.git/",
            "https://GitHub.com:443/org/repo.git/",
            "https://GitHub.com:443/org/repo.git/",
            "https://github.com/org/repo",
        ),
        (
            "https://user:tok@host.example/org/x.git",
            "https://host.example/org/x.git",
            "https://host.example/org/x.git",
            "https://host.example/org/x",
        ),
        (
            "git+https://host.example/x",
            "https://host.example/x",
            "https://host.example/x",
            "https://host.example/x",
        ),
        (
            "git@github.com:org/repo.git",
            "git@github.com:org/repo.git",
            "git@github.com:org/repo.git",
            "ssh://github.com/org/repo",
        ),
        (
            "ssh://git:pw@host.example:22/org/x",
            "ssh://git@host.example:22/org/x",
            "ssh://git@host.example:22/org/x",
            "ssh://host.example/org/x",
        ),
        (
            "http://127.0.0.1:8080/x.git",
            "http://127.0.0.1:8080/x.git",
            "http://127.0.0.1:8080/x.git",
            "http://127.0.0.1:8080/x",
        ),
        (
            "http://localhost/x.git",
            "http://localhost/x.git",
            "http://localhost/x.git",
            "http://localhost/x",
        ),
    ],
)
def test_accepted_forms(typed: str, url: str, public: str, normalised: str) -> None:
    assert looks_like_git_url(typed)
    spec = parse_git_source(typed, allow_local=False)
    assert (spec.url, spec.public, spec.normalised) == (url, public, normalised)
    assert "tok" not in spec.display and ":pw" not in spec.display
    assert "tok" not in spec.url and ":pw" not in spec.url, "never on git's command line"


def test_credentials_go_to_git_as_a_header_scoped_to_the_url() -> None:
    spec = parse_git_source("https://me%40corp:p%3Ass@host.example/x.git", allow_local=False)
    assert spec.url == "https://host.example/x.git"
    assert dict(spec.env) == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.https://host.example/x.git.extraHeader",
        "GIT_CONFIG_VALUE_0": "Authorization: Basic " + base64.b64encode(b"me@corp:p:ss").decode(),
    }
    assert parse_git_source("https://host.example/x.git", allow_local=False).env == ()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ext::sh -c touch% /tmp/x", "control characters"),
        ("ext::sh", "transport 'ext'"),
        ("fd::17", "transport 'fd'"),
        ("git+ext::sh", "transport 'ext'"),
        ("transport::anything", "transport"),
        ("-uhttps://x", "starts with '-'"),
        ("--upload-pack=touch /tmp/x", "starts with '-'"),
        ("ftp://host.example/x.git", "scheme 'ftp'"),
        ("git://host.example/x.git", "scheme 'git'"),
        ("http://example.com/x.git", "loopback"),
        ("http://169.254.169.254/latest", "loopback"),
        ("https://host.example/x.git?upload-pack=x", "query"),
        ("https://host.example/x.git#frag", "query or fragment"),
        ("https:///x.git", "no valid host"),
        ("https://-oProxyCommand=x/y", "no valid host"),
        ("https://host.example/", "invalid repository path"),
        ("https://host.example/a/../b", "'..'"),
        ("https://host.example/a/%2e%2e/b", "'..'"),
        ("https://host.example/a\\b", "backslashes"),
        ("git@-oProxyCommand=x:repo", "invalid user or host"),
        ("-oProxyCommand=x@host:repo", "starts with '-'"),
        ("a;b@host.example:repo", "invalid user or host"),
        ("git@host.example:-u/x", "'-' segments"),
        ("gh:org", "invalid gh: shortcut"),
        ("gh:org/repo/extra", "invalid gh: shortcut"),
        ("gh:../repo", "invalid gh: shortcut"),
        ("gl:-group/repo", "invalid gl: shortcut"),
        ("https://host.example:99999/x", "invalid port"),
    ],
)
def test_refused_forms(typed: str, message: str) -> None:
    with pytest.raises(CodeForgeError) as info:
        parse_git_source(typed, allow_local=True)
    assert isinstance(info.value, SecurityError | UsageError)
    assert message in str(info.value)


def test_local_forms_only_from_the_cli(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    for typed in (str(tmp_path / "repo"), (tmp_path / "repo").as_uri()):
        with pytest.raises(SecurityError):
            parse_git_source(typed, allow_local=False)
        assert parse_git_source(typed, allow_local=True).local
    with pytest.raises(SecurityError, match="must not name a host"):
        parse_git_source("file://evil.example/srv/repo", allow_local=True)


@pytest.mark.parametrize(
    "ref", ["main", "v1.2.3", "feature/x-y", "1.0.0-rc.1+build.5", "HEAD", "0123abc", "a" * 40]
)
def test_good_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize(
    "ref",
    [
        "",
        "-b",
        "--upload-pack=x",
        "main..evil",
        "HEAD@{1}",
        "@",
        "a b",
        "a\nb",
        "a~1",
        "a^",
        "a:b",
        "a*",
        "a[",
        "a\\b",
        "feature/",
        "/main",
        "a//b",
        "x.lock",
        "ends.",
        ".hidden",
        "a/.b",
        "x" * 201,
    ],
)
def test_bad_refs(ref: str) -> None:
    with pytest.raises(UsageError, match="invalid git ref"):
        check_ref(ref)


def test_redaction() -> None:
    assert (
        redact("fatal: https://u:p@h/x and http://tok@h/y")
        == "fatal: https://***@h/x and http://***@h/y"
    )
    assert redact("ssh://git@host/x ssh://git:pw@host/y") == "ssh://git@host/x ssh://git:***@host/y"
    assert redact("redis://:pw@127.0.0.1:6379/0") == "redis://***@127.0.0.1:6379/0"


# -- trust ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "prefix"),
    [
        ("gh:org/repo", "https://github.com/org"),
        ("https://github.com/org/repo", "gh:org"),
        ("https://GITHUB.com/org/repo.git", "https://github.com/org/"),
        ("https://github.com:443/org/repo", "https://github.com/org"),
        ("https://user:tok@github.com/org/repo", "https://github.com/org"),
        ("git+https://github.com/org/repo", "https://github.com/org"),
        ("git@github.com:org/repo.git", "ssh://github.com/org"),
        ("ssh://git@github.com:22/org/repo", "git@github.com:org"),
        ("https://github.com/org/repo", "https://github.com/org/repo.git"),
        ("https://github.com./org/repo", "https://github.com/org"),
        ("https://gitlab.com/group/sub/repo", "gl:group/sub"),
        ("plugin:shop", "plugin:shop"),
    ],
)
def test_trusted_after_normalising(source: str, prefix: str) -> None:
    assert is_trusted(source, [prefix])


@pytest.mark.parametrize(
    ("source", "prefix"),
    [
        ("https://github.com/org-evil/x", "https://github.com/org"),
        ("https://github.com/orgx", "gh:org/"),
        ("https://github.com.evil.net/org/x", "https://github.com"),
        ("https://github.com@evil.net/org/x", "https://github.com/org"),
        ("https://evil.net/github.com/org/x", "https://github.com/org"),
        ("https://github.com/org/../evil/x", "https://github.com/org"),
        ("https://github.com/org/%2e%2e/evil/x", "https://github.com/org"),
        ("https://github.com/org%2f..%2fevil/x", "https://github.com/org"),
        ("https://github.com:8443/org/x", "https://github.com/org"),
        ("http://github.com/org/x", "https://github.com/org"),
        ("ssh://github.com/org/x", "https://github.com/org"),
        ("gh:org-evil/x", "gh:org"),
        ("plugin:shopx", "plugin:shop"),
        ("builtin:web-fastapi", "plugin:web-fastapi"),
        ("https://github.com/org", "https://github.com/org/repo"),
    ],
)
def test_bypass_attempts_are_not_trusted(source: str, prefix: str) -> None:
    assert not is_trusted(source, [prefix])


def test_local_paths_compare_resolved_on_segment_boundaries(tmp_path: Path) -> None:
    (tmp_path / "bps" / "one").mkdir(parents=True)
    (tmp_path / "bps-evil").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "bps-evil")
    prefix = [str(tmp_path / "bps")]
    assert is_trusted(str(tmp_path / "bps" / "one"), prefix)
    assert is_trusted((tmp_path / "bps" / "one").as_uri(), prefix)
    assert is_trusted(str(tmp_path / "bps-evil" / ".." / "bps" / "one"), prefix)
    assert not is_trusted(str(tmp_path / "bps-evil"), prefix)
    assert not is_trusted(str(tmp_path / "bps" / ".." / "bps-evil"), prefix)
    assert not is_trusted(str(tmp_path / "link"), prefix)
    assert normalise_source(str(tmp_path / "link")) == str((tmp_path / "bps-evil").resolve())


def test_broken_prefixes_trust_nothing() -> None:
    assert not is_trusted("https://github.com/org/x", ["https://github.com:bad/org", ""])


# -- versions ------------------------------------------------------------------------------


def test_semver_order() -> None:
    tags = [
        "1.0.0",
        "v1.0.0-rc.1",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta.11",
        "1.0.0-beta.2",
        "1.0.0-beta",
        "v0.9.10",
        "0.9.9",
        "latest",
        "1.0",
        "v1.0.0+build",
        "01.0.0",
        "10.0.0",
        "2.0.0",
    ]
    assert sort_versions(tags) == [
        "0.9.9",
        "v0.9.10",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "v1.0.0-rc.1",
        "1.0.0",
        "v1.0.0+build",
        "2.0.0",
        "10.0.0",
    ]
    assert pick_default(tags) == "10.0.0"
    assert pick_default(["1.0.0", "2.0.0-rc.1"]) == "1.0.0"
    assert pick_default(["2.0.0-rc.1", "2.0.0-rc.2"]) == "2.0.0-rc.2"
    assert pick_default(["latest", "stable"]) is None

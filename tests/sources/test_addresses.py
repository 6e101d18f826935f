"""IPv4 inside IPv6 is checked before a fetch, and git is pinned right for IPv6 hosts.

Regression: ``https://[2002:7f00:1::]/...`` (6to4 for 127.0.0.1) passed the address
check, and the pin given to curl for a literal IPv6 host came out unparseable.
The pin is checked with the real git and curl against ``git http-backend`` on [::1].
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import console

from codeforge.errors import SecurityError
from codeforge.sources.addresses import (
    check_public_address,
    embedded_ipv4,
    is_ip_literal,
    resolve_pin,
)

from .git_support import BlueprintRepo, GitHttpServer

# RFC 6052 examples of 192.0.2.33 under 2001:db8::/PL, moved into 64:ff9b:1::/48.
NAT64_LOCAL_48 = "64:ff9b:1:c000:2:2100::"
NAT64_LOCAL_56 = "64:ff9b:1:c0:0:221::"
NAT64_LOCAL_64 = "64:ff9b:1:0:c0:2:2100:0"


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:127.0.0.1", ["127.0.0.1"]),  # IPv4-mapped
        ("::ffff:0:10.0.0.1", ["10.0.0.1"]),  # IPv4-translated (SIIT)
        ("::127.0.0.1", ["127.0.0.1"]),  # IPv4-compatible
        ("::8.8.8.8", ["8.8.8.8"]),
        ("2002:7f00:1::", ["127.0.0.1"]),  # 6to4
        ("2002:a9fe:a9fe:1::5", ["169.254.169.254"]),
        ("2002:808:808::1", ["8.8.8.8"]),
        ("64:ff9b::7f00:1", ["127.0.0.1"]),  # NAT64 well-known prefix
        ("64:ff9b::a00:1", ["10.0.0.1"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),  # Teredo
        ("2001:0:7f00:1:0:f5ff:80ff:fffe", ["127.0.0.1", "127.0.0.1"]),
        ("::1", []),
        ("::", []),
        ("2606:4700:4700::1111", []),
        ("8.8.8.8", []),
    ],
)
def test_embedded_ipv4_addresses_are_found(address: str, carried: list[str]) -> None:
    assert [str(a) for a in embedded_ipv4(ipaddress.ip_address(address))] == carried


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (NAT64_LOCAL_48, "192.0.2.33"),
        (NAT64_LOCAL_56, "192.0.2.33"),
        (NAT64_LOCAL_64, "192.0.2.33"),
        ("64:ff9b:1::c000:221", "192.0.2.33"),  # /96 layout
    ],
)
def test_local_use_nat64_is_read_at_every_prefix_length(address: str, expected: str) -> None:
    found = [str(a) for a in embedded_ipv4(ipaddress.ip_address(address))]
    assert len(found) == 4 and expected in found


@pytest.mark.parametrize(
    ("address", "needle"),
    [
        ("2002:7f00:1::", "127.0.0.1"),
        ("2002:a00:1::", "10.0.0.1"),
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("2002:a9fe:a9fe::", "169.254.169.254"),
        ("64:ff9b::7f00:1", "127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b:1:7f00:0:100::", "127.0.0.1"),  # local-use NAT64, /48 layout
        ("64:ff9b:1::808:808", "64:ff9b:1::808:808"),  # local-use NAT64 is never public
        ("2001:0:7f00:1:0:f5ff:80ff:fffe", "127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
        ("::127.0.0.1", "127.0.0.1"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:0:192.168.0.1", "192.168.0.1"),
        ("::1", "::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("fc00::1", "fc00::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("100.64.0.1", "100.64.0.1"),  # shared address space (carrier NAT)
        ("0.0.0.0", "0.0.0.0"),
    ],
)
def test_wrapped_and_plain_private_addresses_are_refused(address: str, needle: str) -> None:
    with pytest.raises(SecurityError, match="loopback, private or link-local") as info:
        check_public_address(address, "evil.example")
    assert needle in info.value.message
    assert "evil.example" in info.value.message and info.value.where == "git_url"


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "2606:4700:4700::1111", "2002:808:808::1", "2a00:1450:4001:80e::200e"]
)
def test_public_addresses_pass(address: str) -> None:
    check_public_address(address, "example.com")


@pytest.mark.parametrize(
    ("host", "port", "address", "options"),
    [
        ("example.com", 443, "93.184.216.34", ["-c", "http.curloptResolve=example.com:443:93.184.216.34"]),
        ("example.com", 8443, "2606:2800:220:1::", ["-c", "http.curloptResolve=example.com:8443:[2606:2800:220:1::]"]),
        ("2606:2800:220:1::", 443, "2606:2800:220:1::", []),
        ("[2606:2800:220:1::]", 443, "2606:2800:220:1::", []),
        ("93.184.216.34", 443, "93.184.216.34", []),
    ],
)  # fmt: skip
def test_resolve_pin_forms(host: str, port: int, address: str, options: list[str]) -> None:
    assert resolve_pin(host, port, address) == options
    assert is_ip_literal(host) is (options == [])


# -- real git over IPv6 ------------------------------------------------------------------------


@pytest.fixture
def served_v6(tmp_path: Path) -> Iterator[GitHttpServer]:
    repo = BlueprintRepo(tmp_path / "work")
    repo.commit("one", "v1.0.0")
    root = tmp_path / "srv"
    root.mkdir()
    repo.bare(root / "tiny.git")
    try:
        server = GitHttpServer(root, host="::1")
    except OSError as exc:  # pragma: no cover - a host without IPv6 loopback
        pytest.skip(f"no IPv6 loopback: {exc}")
    with server:
        yield server


def _ls_remote(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *options, "ls-remote", "--tags", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"},
    )


def test_curl_takes_the_ipv6_pin(served_v6: GitHttpServer) -> None:
    """A name that does not resolve reaches [::1] through the pin alone."""
    name = "pinned-to-v6.invalid"
    url = f"http://{name}:{served_v6.port}/tiny.git"
    assert _ls_remote(url).returncode != 0  # no DNS answer for .invalid
    pinned = _ls_remote(url, *resolve_pin(name, served_v6.port, "::1"))
    assert pinned.returncode == 0, pinned.stderr
    assert "refs/tags/v1.0.0" in pinned.stdout
    # A literal IPv6 host gets no pin (curl cannot take one for it, nor needs it).
    literal = f"{served_v6.base_url}/tiny.git"
    assert _ls_remote(literal, *resolve_pin("::1", served_v6.port, "::1")).returncode == 0


def test_cli_fetches_from_an_ipv6_loopback_host(served_v6: GitHttpServer, tmp_path: Path) -> None:
    source = f"{served_v6.base_url}/tiny.git"
    env = {
        "CODEFORGE_DATA_DIR": str(tmp_path / "data"),
        "CODEFORGE_CACHE_DIR": str(tmp_path / "cache"),
        "CODEFORGE_CONFIG_DIR": str(tmp_path / "config"),
    }
    out = tmp_path / "out"
    done = console("init", "v6", "-t", source, "--defaults", "--no-git", "-o", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert (out / "v6" / "VERSION.txt").read_text(encoding="utf-8") == "one\n"
    assert "1.0.0" in done.stdout
    assert served_v6.seen, "the server was not asked"

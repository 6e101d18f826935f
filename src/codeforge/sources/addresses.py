"""Which network addresses the server may fetch from for an API caller, and how git is pinned.

The API fetches git repositories that callers name, so an address is checked
before any connection (threat model, surface 5): loopback, private, link-local,
multicast, reserved and other non-global addresses are refused. An IPv6 address
can carry an IPv4 one that the network may deliver to (``2002:7f00:1::`` is 6to4
for 127.0.0.1), so every IPv4 address embedded in it is checked as well:

* IPv4-mapped ``::ffff:a.b.c.d`` and IPv4-translated ``::ffff:0:a.b.c.d``;
* IPv4-compatible ``::a.b.c.d`` (deprecated, still routed by some stacks);
* 6to4 ``2002:AABB:CCDD::/16``;
* NAT64: the well-known prefix ``64:ff9b::/96`` and the local-use
  ``64:ff9b:1::/48``, read at each prefix length RFC 6052 allows there;
* Teredo ``2001::/32``: both the server and the (de-obfuscated) client address.

Once checked, git is pinned to the address (curl's ``CURLOPT_RESOLVE``) so DNS
cannot answer differently when git connects. A host that is itself an IP literal
needs no pin: curl does not resolve it (and curl's ``HOST:PORT:ADDRESS`` syntax
has no form for an IPv6 host).
"""

from __future__ import annotations

import ipaddress
from typing import Final

from codeforge.errors import SecurityError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAPPED: Final = ipaddress.IPv6Network("::ffff:0:0/96")
_TRANSLATED: Final = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE: Final = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN: Final = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
# RFC 6052, section 2.2: where the four IPv4 bytes sit for each prefix length
# (byte 8, bits 64-71, is always skipped).
_NAT64_BYTES: Final = {
    48: (6, 7, 9, 10),
    56: (7, 9, 10, 11),
    64: (9, 10, 11, 12),
    96: (12, 13, 14, 15),
}


def _ipv4_at(ip: ipaddress.IPv6Address, positions: tuple[int, ...]) -> ipaddress.IPv4Address:
    packed = ip.packed
    return ipaddress.IPv4Address(bytes(packed[i] for i in positions))


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (see the module); [] for none."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    # In ::/96, :: and ::1 are themselves, not IPv4-compatible addresses.
    compatible = ip in _COMPATIBLE and int(ip) > 1
    if compatible or any(ip in net for net in (_MAPPED, _TRANSLATED, _NAT64_WELL_KNOWN)):
        found.append(_ipv4_at(ip, _NAT64_BYTES[96]))
    elif ip in _NAT64_LOCAL:
        found.extend(_ipv4_at(ip, positions) for positions in _NAT64_BYTES.values())
    elif ip.sixtofour is not None:
        found.append(ip.sixtofour)
    elif ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_public(ip: IPAddress) -> bool:
    """True for a globally routable unicast address (embedded IPv4 addresses not looked at)."""
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_public_address(address: str, host: str, where: str = "git_url") -> None:
    """Refuse ``address`` (what ``host`` resolved to) unless it and every IPv4 address
    inside it are public; the error names the address that is not."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    inner = embedded_ipv4(ip)
    bad = [str(a) for a in (ip, *inner) if not is_public(a)]
    if ip in _NAT64_LOCAL and str(ip) not in bad:
        bad.insert(0, str(ip))  # local-use NAT64 is never the public internet
    if bad:
        carried = ", ".join(str(a) for a in inner if not is_public(a)) or ", ".join(map(str, inner))
        shown = f"{ip} (carrying {carried})" if carried else str(ip)
        raise SecurityError(
            f"{host} resolves to {shown}, a loopback, private or link-local address",
            where=where,
            hint="the API only fetches from public hosts",
        )


def is_ip_literal(host: str) -> bool:
    """True when ``host`` (brackets stripped) is an IP address rather than a name."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve_pin(host: str, port: int, address: str) -> list[str]:
    """git ``-c`` options that make curl connect to ``address`` for ``host:port``.

    None for an IP literal host (curl does not resolve it). An IPv6 address is
    bracketed, as curl's ``HOST:PORT:ADDRESS`` form requires.
    """
    if is_ip_literal(host):
        return []
    pinned = f"[{address}]" if ":" in address else address
    return ["-c", f"http.curloptResolve={host}:{port}:{pinned}"]

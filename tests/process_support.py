"""Servers the tests start as child processes: free loopback ports, and no orphans."""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now (all held open until all are known)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """One loopback port free right now."""
    return free_ports(1)[0]


def die_with_parent() -> None:
    """For ``preexec_fn``: the child is killed when the test process goes away.

    PR_SET_PDEATHSIG, so a server a test started does not outlive a killed pytest
    (its data are throwaway). Set it after any change of user: that clears it.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)

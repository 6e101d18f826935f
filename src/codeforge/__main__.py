"""Console entry point. ``--version`` answers before anything heavy is imported."""

from __future__ import annotations

import sys

GC_AFTER = 0.5  # seconds


def _quiet_start() -> None:
    """No cyclic garbage collection for the first half second.

    Start-up allocates hundreds of thousands of objects that all live until exit
    (modules, classes, compiled templates); the collector traverses each of them,
    young, before promoting it, about a tenth of a short command's CPU time, and
    frees nothing. A command that runs longer (a server, a worker, a large
    generation) gets the collector back after ``GC_AFTER`` seconds, so what cyclic
    garbage it makes is bounded by what half a second can allocate.
    """
    import gc
    import threading

    gc.disable()
    timer = threading.Timer(GC_AFTER, gc.enable)
    timer.daemon = True
    timer.start()


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from codeforge import __version__

        sys.stdout.write(f"codeforge {__version__}\n")
        return
    _quiet_start()
    from codeforge.cli.main import run

    run()


if __name__ == "__main__":
    main()

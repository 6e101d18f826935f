"""Console entry point. ``--version`` answers before anything heavy is imported."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from codeforge import __version__

        sys.stdout.write(f"codeforge {__version__}\n")
        return
    from codeforge.cli.main import run

    run()


if __name__ == "__main__":
    main()

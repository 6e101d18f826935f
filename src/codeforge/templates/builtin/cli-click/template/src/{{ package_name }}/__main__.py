"""Run the application with ``python -m {{ package_name }}``."""

from {{ package_name }}.cli import cli

if __name__ == "__main__":
    cli(prog_name="{{ command_name }}")

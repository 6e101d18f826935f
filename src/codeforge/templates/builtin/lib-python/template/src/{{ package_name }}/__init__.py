"""The {{ package_name }} package."""

from {{ package_name }}.greetings import greet

__version__ = "0.1.0"

__all__ = ["greet"]

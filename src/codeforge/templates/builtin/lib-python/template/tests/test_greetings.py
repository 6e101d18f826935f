"""Tests for {{ package_name }}.greetings."""

import pytest

import {{ package_name }}
from {{ package_name }} import greet


def test_greet() -> None:
    assert greet("World") == "Hello, World!"


def test_greet_strips_and_uses_punctuation() -> None:
    assert greet("  Ada ", punctuation=".") == "Hello, Ada."


@pytest.mark.parametrize("name", ["", "   "])
def test_greet_rejects_blank_names(name: str) -> None:
    with pytest.raises(ValueError, match="blank"):
        greet(name)


def test_version() -> None:
    assert {{ package_name }}.__version__ == "0.1.0"

"""Greetings: a small example module to replace with your own code."""


def greet(name: str, *, punctuation: str = "!") -> str:
    """Return a friendly greeting for ``name``.

    Args:
        name: Who to greet; must not be blank.
        punctuation: Appended to the greeting.

    Raises:
        ValueError: If ``name`` is blank.
    """
    cleaned = name.strip()
    if not cleaned:
        raise ValueError("name must not be blank")
    return f"Hello, {cleaned}{punctuation}"

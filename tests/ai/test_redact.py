from __future__ import annotations

import pytest

from codeforge.ai.provider import Provider
from codeforge.ai.redact import REDACTED, is_secret_file, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("OPENAI_API_KEY=sk-proj-abcdefghijklmnop1234", "sk-proj-abcdefghijklmnop1234"),
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("aws AKIAABCDEFGHIJKLMNOP here", "AKIAABCDEFGHIJKLMNOP"),
        ("password: hunter2", "hunter2"),
        ('db_password = "correct horse"', "correct horse"),
        ("url = postgres://bob:s3cret@db:5432/app", "s3cret"),
        ("Authorization: eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlMTIz", "eyJzdWIiOiIxMjM0"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----", "MIIabc"),
        ("SLACK=xoxb-1234567890-abcdef", "xoxb-1234567890-abcdef"),
    ],
)
def test_secret_shapes_are_redacted(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize(
    "code",
    [
        "token = get_token()",
        "api_key: str | None = None",
        "key = settings.api_key",
        "if password == other:",
    ],
)
def test_code_references_are_kept(code: str) -> None:
    assert redact(code) == code


def test_known_secret_values_are_redacted_anywhere() -> None:
    assert redact("the answer is tiger-lily ok", ["tiger-lily"]) == f"the answer is {REDACTED} ok"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        (".env", True),
        (".env.production", True),
        ("prod.env", True),
        ("id_rsa", True),
        ("server.pem", True),
        ("credentials.json", True),
        ("settings.py", False),
        ("environment.py", False),
    ],
)
def test_secret_files(name: str, secret: bool) -> None:
    assert is_secret_file(name) is secret


def test_provider_redacts_every_message_it_sends() -> None:
    provider = Provider(base_url="http://127.0.0.1:1/v1", model="m").with_secrets(["s3cr3t-answer"])
    sent = provider._prepare(
        [
            {"role": "system", "content": "key sk-abcdefghijklmnopqrstuv"},
            {"role": "user", "content": "db password is s3cr3t-answer"},
        ]
    )
    joined = " ".join(m["content"] for m in sent)
    assert "sk-abcdefghijklmnopqrstuv" not in joined
    assert "s3cr3t-answer" not in joined

"""Property tests over the OpenAPI document: no 5xx and responses that match the schema.

Bounded (a few examples per operation, no shrinking) so it stays well under two
minutes. Runs as an admin (every route reachable) on SQLite in a private folder;
the app is built at import because schemathesis parametrizes at collection.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from codeforge.api.app import create_app
from codeforge.core.settings import load_settings

from .conftest import make_caller

_HOME = Path(tempfile.mkdtemp(prefix="codeforge-schemathesis-"))
_ENV = {f"CODEFORGE_{k.upper()}_DIR": str(_HOME / k) for k in ("config", "data", "cache")}
_URL = f"sqlite:///{_HOME / 'codeforge.db'}"
app = create_app(load_settings(env=_ENV, overrides={"database_url": _URL}))
ADMIN = make_caller(_URL, "admin", "admin")

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    if case.path == "/api/v1/blueprints" and case.method.upper() == "POST":
        pytest.skip("registration from git needs the network; covered in test_registry")
    response = case.call(headers=ADMIN.headers)
    if case.path == "/api/v1/ai/describe" and response.status_code == 503:
        # No model is configured here: describe answers its documented 503
        # (asserted, with its message, in tests/api/test_ai.py).
        assert "AI" in response.text
        return
    assert response.status_code < 500, response.text
    # The bar: no 5xx, and every response as documented (status, type, body).
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )

"""CI secrets (``publish.secrets``) on a publish job: from the caller's own stored credentials.

Secret answers never reach a job, so an answer-sourced secret has no value there: a
required one fails the job before anything is sent, an optional one is left out.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from typing import Any

from integrations.forge_contract import ForgeContract
from nacl.public import SealedBox
from sqlalchemy import select

from codeforge.db.engine import session_factory
from codeforge.db.models import Activity, Job

from .conftest import Api, Caller
from .test_jobs import wait_done
from .test_publish import GH, V1, forge, no_token_anywhere, options, store_token

__all__ = ["forge"]

RELEASE = "glpat-" + "ReleaseViaApi" * 2
DEFINITION = """\
name: vault-bp
version: 1.0.0
variables:
  deploy_token:
    type: secret
    default: ""
    required: false
publish:
  secrets:
    - name: DEPLOY_TOKEN
      answer: deploy_token
      required: {required}
    - name: RELEASE_TOKEN
      credential: gitlab
      host: "{host}"
      credential_name: release
"""


def register(api: Api, forge: ForgeContract, required: bool) -> None:
    text = DEFINITION.format(required=str(required).lower(), host=forge.url)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        out.writestr("vault-bp/blueprint.yaml", text)
        out.writestr("vault-bp/template/README.md.jinja", "# {{ project_name }}\n")
    response = api.as_(
        api.maya, "POST", f"{V1}/blueprints/upload",
        files={"archive": ("bp.zip", buffer.getvalue(), "application/zip")},
    )  # fmt: skip
    assert response.status_code == 201, response.text


def store_release(api: Api, caller: Caller, forge: ForgeContract) -> None:
    body = {"token": RELEASE, "host": forge.url, "name": "release"}
    response = api.as_(caller, "PUT", f"{V1}/credentials/gitlab", json=body)
    assert response.status_code == 200, response.text


def publish_job(api: Api, forge: ForgeContract) -> dict[str, Any]:
    body = {
        "kind": "generate",
        "template": "vault-bp",
        "name": "vault",
        "answers": {},
        "publish": options(forge),
    }
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    return wait_done(api, api.alice, response.json()["id"])


def test_a_credential_secret_is_sealed_from_the_callers_own_credential(
    api: Api, forge: ForgeContract
) -> None:
    register(api, forge, required=False)
    store_token(api, api.alice, forge)
    store_release(api, api.alice, forge)
    done = publish_job(api, forge)
    assert done["status"] == "finished", done
    assert "secret RELEASE_TOKEN" in done["result"]["publish"]["steps"]
    [repo] = forge.repos.values()
    assert set(repo.secrets) == {"RELEASE_TOKEN"}  # the optional answer had no value here
    sealed = base64.b64decode(repo.secrets["RELEASE_TOKEN"])
    assert SealedBox(repo.key).decrypt(sealed) == RELEASE.encode()
    assert all(RELEASE.encode() not in r.body for r in forge.requests)
    no_token_anywhere(api, forge, json.dumps(done))
    with session_factory(api.url)() as session:
        stored = [(j.payload, j.result, j.error) for j in session.scalars(select(Job))]
        rows = [(a.target, a.details) for a in session.scalars(select(Activity))]
    assert RELEASE not in json.dumps([stored, rows], default=str)
    assert RELEASE not in api.logs.getvalue()


def test_a_missing_credential_fails_the_job_before_anything_is_created(
    api: Api, forge: ForgeContract
) -> None:
    register(api, forge, required=False)
    store_token(api, api.alice, forge)
    done = publish_job(api, forge)
    assert done["status"] == "failed", done
    assert "the CI secret RELEASE_TOKEN needs the gitlab credential 'release'" in done["error"]
    assert forge.repos == {} and forge.mutating() == []


def test_a_required_secret_answer_fails_the_job_before_anything_is_created(
    api: Api, forge: ForgeContract
) -> None:
    register(api, forge, required=True)
    store_token(api, api.alice, forge)
    store_release(api, api.alice, forge)
    body = {
        "kind": "generate",
        "template": "vault-bp",
        "name": "vault",
        "answers": {},
        "publish": options(forge),
    }
    response = api.as_(api.alice, "POST", f"{V1}/jobs", json=body)
    assert response.status_code == 202, response.text
    done = wait_done(api, api.alice, response.json()["id"])
    assert done["status"] == "failed", done
    assert "no value for the CI secret DEPLOY_TOKEN" in done["error"]
    assert forge.repos == {} and forge.mutating() == []
    assert GH not in response.text

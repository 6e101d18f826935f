"""``POST /projects/{id}/update`` with ``{"pr": true}``: the update as a pull request on the
repository the project was published to (the forge contract server), with the owner's credential."""

from __future__ import annotations

from pathlib import Path

from integrations.forge_contract import ForgeContract

from .conftest import Api
from .test_jobs import wait_done
from .test_publish import forge, no_token_anywhere, options, remote_files, store_token
from .test_update_job import README_V1, README_V2, archive, generated, register

__all__ = ["forge"]  # the fixture, shared with the publish tests

V1 = "/api/v1"


def test_update_as_a_pull_request(api: Api, forge: ForgeContract, tmp_path: Path) -> None:
    register(api, archive("1.0.0", README_V1))
    store_token(api, api.alice, forge)
    pid, never = generated(api, api.alice), generated(api, api.alice)
    sent = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/publish", json=options(forge))
    assert wait_done(api, api.alice, sent.json()["id"])["status"] == "finished"
    register(api, archive("1.1.0", README_V2, {"template/NEW.txt": b"new file\n"}))
    response = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/update", json={"pr": True})
    assert response.status_code == 202, response.text
    done = wait_done(api, api.alice, response.json()["id"], timeout=60)
    assert done["status"] == "finished", done
    pull = done["result"]["pull"]
    assert pull["action"] == "opened" and pull["url"].endswith("/pull/1"), pull
    assert pull["branch"] == "codeforge/update-shelf-bp-1.1.0"
    [repo] = forge.repos.values()
    [opened] = repo.pulls
    assert (opened["head"], opened["base"]) == (pull["branch"], "main")
    assert "NEW.txt" not in remote_files(forge, tmp_path, repo.owner, repo.name)
    # The project keeps its version until the pull request is merged.
    project = api.as_(api.alice, "GET", f"{V1}/projects/{pid}").json()
    assert project["blueprint_version"] == "1.0.0"
    # A project never published: 404 before any job; someone else's: 404.
    refused = api.as_(api.alice, "POST", f"{V1}/projects/{never}/update", json={"pr": True})
    assert refused.status_code == 404 and "never published" in refused.json()["message"]
    other = api.as_(api.bob, "POST", f"{V1}/projects/{pid}/update", json={"pr": True})
    assert other.status_code == 404
    bad = api.as_(api.alice, "POST", f"{V1}/projects/{pid}/update", json={"pr": "yes please"})
    assert bad.status_code == 422
    no_token_anywhere(api, forge, str(done))

"""Tests for the ``/{{ name | kebab }}`` endpoints."""

from fastapi.testclient import TestClient


def test_{{ name }}_crud(client: TestClient) -> None:
    created = client.post("/{{ name | kebab }}", json={"name": "first"})
    assert created.status_code == 201
    record_id = created.json()["id"]

    assert client.get(f"/{{ name | kebab }}/{record_id}").json()["name"] == "first"
    assert record_id in [r["id"] for r in client.get("/{{ name | kebab }}").json()]

    replaced = client.put(f"/{{ name | kebab }}/{record_id}", json={"name": "second"})
    assert replaced.status_code == 200
    assert replaced.json() == {"id": record_id, "name": "second"}

    assert client.delete(f"/{{ name | kebab }}/{record_id}").status_code == 204
    assert client.get(f"/{{ name | kebab }}/{record_id}").status_code == 404


def test_{{ name }}_rejects_invalid_body(client: TestClient) -> None:
    assert client.post("/{{ name | kebab }}", json={"name": ""}).status_code == 422

"""Tests for the ``/items`` endpoints."""

from fastapi.testclient import TestClient


def _create(client: TestClient, name: str = "Widget", price: float = 9.5) -> int:
    response = client.post("/items", json={"name": name, "price": price})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == name
    assert body["price"] == price
    return int(body["id"])


def test_create_and_read(client: TestClient) -> None:
    item_id = _create(client)
    response = client.get(f"/items/{item_id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": item_id,
        "name": "Widget",
        "description": None,
        "price": 9.5,
    }


def test_list_contains_created_items(client: TestClient) -> None:
    first = _create(client, "First")
    second = _create(client, "Second")
    ids = [item["id"] for item in client.get("/items").json()]
    assert first in ids
    assert second in ids


def test_update(client: TestClient) -> None:
    item_id = _create(client)
    response = client.put(
        f"/items/{item_id}",
        json={"name": "Gadget", "description": "New", "price": 1.0},
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Gadget"
    assert client.get(f"/items/{item_id}").json()["description"] == "New"


def test_delete(client: TestClient) -> None:
    item_id = _create(client)
    assert client.delete(f"/items/{item_id}").status_code == 204
    assert client.get(f"/items/{item_id}").status_code == 404
    assert client.delete(f"/items/{item_id}").status_code == 404


def test_missing_item_is_404(client: TestClient) -> None:
    assert client.get("/items/999999").status_code == 404


def test_invalid_body_is_422(client: TestClient) -> None:
    response = client.post("/items", json={"name": "", "price": -1})
    assert response.status_code == 422

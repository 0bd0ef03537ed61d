"""Every route but /healthz wants the bearer token."""

import httpx

ROUTES = [
    ("GET", "/crm/customers"),
    ("GET", "/crm/customers/CU-1"),
    ("PUT", "/crm/customers/CU-1"),
    ("GET", "/crm/contracts/C-1"),
    ("GET", "/usage/metrics"),
    ("POST", "/usage/events"),
    ("GET", "/usage/summary"),
    ("POST", "/erp/postings"),
    ("GET", "/erp/postings/q2c:C-1:cycle:2026-10-01:2026-11-01"),
    ("GET", "/erp/journal/totals"),
    ("GET", "/admin/faults"),
    ("PUT", "/admin/faults"),
]


async def test_a_request_without_a_token_is_refused(client: httpx.AsyncClient) -> None:
    for method, path in ROUTES:
        response = await client.request(method, path, headers={"Authorization": ""}, json={})
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert "missing bearer token" in response.json()["detail"]


async def test_a_wrong_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/crm/customers", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid bearer token"}


async def test_another_scheme_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/crm/customers", headers={"Authorization": "Basic eDp5"})
    assert response.status_code == 401


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_the_right_token_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.get("/crm/customers")).status_code == 200

"""The external-engine adapter against a local stand-in on 127.0.0.1 (tests only).

The stand-in answers with the built-in engine behind FastAPI, so the adapter is checked over
real HTTP; extra routes misbehave the ways a remote engine can.
"""

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.billing import BillingActivities
from activities.tax_http import HttpTaxEngine
from billing.tax import RuleTableEngine, Seller, TaxError
from schemas.customer import Customer
from schemas.invoice import Invoice
from schemas.steps import ComputeTaxInput, TaxedInvoice
from tests.activities.loopback import serve
from tests.billing.tax.tax_builders import customer, invoice


def _standin() -> FastAPI:
    app = FastAPI()
    engine = RuleTableEngine()

    def _compute(body: dict[str, Any]) -> dict[str, Any]:
        result = engine.evaluate(
            Invoice.model_validate(body["invoice"]),
            seller=Seller.model_validate(body["seller"]),
            customer=Customer.model_validate(body["customer"]),
        )
        return result.model_dump(mode="json")

    @app.post("/tax", response_model=None)
    async def tax(body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
        try:
            return _compute(body)
        except TaxError as error:
            return JSONResponse({"code": error.code, "message": error.message}, status_code=422)

    @app.post("/unrounded")
    async def unrounded(body: dict[str, Any]) -> dict[str, Any]:
        answer = _compute(body)
        answer["tax_lines"][0]["tax_amount"] = "19.0001"
        return answer

    @app.post("/stranger")
    async def stranger(body: dict[str, Any]) -> dict[str, Any]:
        answer = _compute(body)
        answer["tax_lines"][0]["line_ids"] = ["L9"]
        return answer

    @app.post("/empty")
    async def empty(body: dict[str, Any]) -> dict[str, Any]:
        return {"tax_lines": []}

    @app.post("/garbled")
    async def garbled(body: dict[str, Any]) -> dict[str, Any]:
        return {"tax_lines": [{"line_id": "L1", "rate": 0.19}]}

    @app.post("/busy")
    async def busy(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse({"detail": "busy"}, status_code=503, headers={"Retry-After": "7"})

    @app.post("/broken")
    async def broken(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse({"detail": "boom"}, status_code=500)

    @app.post("/locked")
    async def locked(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse({"detail": "no"}, status_code=401)

    return app


@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    with serve(_standin()) as url:
        yield url


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield http


async def _tax(client: httpx.AsyncClient, url: str, who: Customer, draft: Invoice) -> TaxedInvoice:
    activities = BillingActivities(
        tax_engine=HttpTaxEngine(client=client, url=url), seller=Seller()
    )
    return await ActivityEnvironment().run(
        activities.compute_tax, ComputeTaxInput(invoice=draft, customer=who)
    )


async def test_the_remote_answer_lands_on_the_invoice(
    client: httpx.AsyncClient, engine_url: str
) -> None:
    taxed = await _tax(
        client, f"{engine_url}/tax", customer("DE"), invoice("33.33", "33.33", "33.33")
    )
    assert [line.rule_id for line in taxed.invoice.tax_lines] == ["DE-VAT-STD"]
    assert (taxed.invoice.tax_total, taxed.invoice.total) == (Decimal("19.00"), Decimal("118.99"))


async def test_the_engine_s_refusal_keeps_its_reason_code(
    client: httpx.AsyncClient, engine_url: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _tax(client, f"{engine_url}/tax", customer("ES", "ES-TF"), invoice("1.00"))
    assert raised.value.type == "tax_jurisdiction_unsupported"
    assert raised.value.non_retryable


@pytest.mark.parametrize(
    ("route", "mentions"),
    [
        ("unrounded", "tax_lines.0.tax_amount"),
        ("stranger", "names no line"),
        ("empty", "no tax lines"),
        ("garbled", "tax_lines.0"),
    ],
)
async def test_an_answer_that_cannot_be_posted_is_refused(
    client: httpx.AsyncClient, engine_url: str, route: str, mentions: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _tax(client, f"{engine_url}/{route}", customer("DE"), invoice("100.00", "0.01"))
    assert raised.value.type == "tax_engine_bad_response"
    assert raised.value.non_retryable
    assert mentions in str(raised.value)


async def test_a_busy_engine_is_retried_after_its_delay(
    client: httpx.AsyncClient, engine_url: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _tax(client, f"{engine_url}/busy", customer("DE"), invoice("1.00"))
    assert raised.value.type == "throttled"
    assert raised.value.next_retry_delay is not None
    assert raised.value.next_retry_delay.total_seconds() == 7


async def test_a_server_error_is_transient(client: httpx.AsyncClient, engine_url: str) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _tax(client, f"{engine_url}/broken", customer("DE"), invoice("1.00"))
    assert raised.value.type == "transient"
    assert not raised.value.non_retryable


async def test_refused_credentials_are_a_configuration_problem(
    client: httpx.AsyncClient, engine_url: str
) -> None:
    with pytest.raises(ApplicationError) as raised:
        await _tax(client, f"{engine_url}/locked", customer("DE"), invoice("1.00"))
    assert raised.value.type == "configuration"
    assert raised.value.non_retryable

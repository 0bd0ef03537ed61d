"""The adapter slot for an external tax engine over HTTP (Avalara, Stripe Tax, Vertex... behind
a small adapter service of the user's, or one that speaks this shape directly).

Wire shape: `POST {url}` with JSON `{"invoice": Invoice, "customer": Customer, "seller":
Seller}`; the answer is a `TaxResult` (`tax_lines`, `notes`, `uncertain`...). A sale the
engine will not tax is a 422 with `{"code": ..., "message": ...}`: the run stops in
needs-attention with that code. The answer is checked before it is used: lines must name the
invoice's lines and be rounded to the currency's minor unit, and an empty answer is refused,
never taken as 0 tax.
"""

from decimal import Decimal

import httpx
from pydantic import ValidationError

from activities.errors import raise_for_status
from billing.money import quantum
from billing.tax import Seller, TaxError, TaxResult
from schemas.customer import Customer
from schemas.invoice import Invoice

BAD_RESPONSE = "tax_engine_bad_response"
GROUP_LINE_ID = "invoice"


class HttpTaxEngine:
    """An async `TaxEngine`: the same `compute` call, answered by a remote service."""

    def __init__(self, *, client: httpx.AsyncClient, url: str) -> None:
        self._client = client
        self._url = url

    async def compute(self, invoice: Invoice, *, seller: Seller, customer: Customer) -> TaxResult:
        payload = {
            "invoice": invoice.model_dump(mode="json"),
            "customer": customer.model_dump(mode="json"),
            "seller": seller.model_dump(mode="json"),
        }
        response = await self._client.post(self._url, json=payload)
        if response.status_code == 422:
            refusal = _refusal(response)
            if refusal is not None:
                raise TaxError(*refusal)
        raise_for_status(response, system="tax engine")
        try:
            result = TaxResult.model_validate_json(response.content)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise TaxError(BAD_RESPONSE, f"tax engine answer: {where}: {first['msg']}") from None
        check_result(invoice, result)
        return result


def _refusal(response: httpx.Response) -> tuple[str, str] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("code"), str) and body["code"]:
        return body["code"], str(body.get("message", ""))
    return None


def check_result(invoice: Invoice, result: TaxResult) -> None:
    """Refuse an answer that cannot be posted as it is: a TaxError naming the tax line."""
    if invoice.lines and not result.tax_lines:
        raise TaxError(BAD_RESPONSE, "tax engine returned no tax lines for a non-empty invoice")
    line_ids = {line.line_id for line in invoice.lines}
    step = quantum(invoice.currency)
    for index, tax in enumerate(result.tax_lines):
        where = f"tax_lines.{index}"
        covered = set(tax.line_ids) if tax.line_id == GROUP_LINE_ID else {tax.line_id}
        unknown = covered - line_ids
        if unknown or not covered:
            raise TaxError(BAD_RESPONSE, f"{where}: names no line of the invoice: {unknown}")
        for name in ("tax_amount", "taxable_amount"):
            amount: Decimal = getattr(tax, name)
            if amount != amount.quantize(step):
                raise TaxError(
                    BAD_RESPONSE, f"{where}.{name}: {amount} is not rounded to {invoice.currency}"
                )
        if not Decimal(0) <= tax.rate < 1:
            raise TaxError(BAD_RESPONSE, f"{where}.rate: {tax.rate} is not a fraction")

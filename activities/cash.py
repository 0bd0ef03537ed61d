"""Cash application in the ERP: payments, refunds and write-offs posted once against a
document (posting key `<run id>:payment:<reference>` and so on), read back, open items."""

import httpx
from pydantic import ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from schemas.errors import ReasonCode
from schemas.payments import (
    CashKind,
    CashPosting,
    CashPostingInput,
    CashPostingResult,
    OpenItems,
    OpenItemsInput,
    ReadCashPostingInput,
    cash_posting_key,
)


def _currency_refused(response: httpx.Response) -> str | None:
    """The ERP's reason when it refused the currency (422 on body.currency), else None."""
    if response.status_code != 422:
        return None
    try:
        problems = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    for problem in problems if isinstance(problems, list) else []:
        if isinstance(problem, dict) and problem.get("loc") == ["body", "currency"]:
            return str(problem.get("msg", ""))
    return None


class CashActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn
    async def post_payment(self, input: CashPostingInput) -> CashPostingResult:
        """Apply a payment; what exceeds the open amount becomes the customer's credit."""
        return await self._post("payment", input)

    @activity.defn
    async def post_refund(self, input: CashPostingInput) -> CashPostingResult:
        return await self._post("refund", input)

    @activity.defn
    async def post_write_off(self, input: CashPostingInput) -> CashPostingResult:
        return await self._post("write_off", input)

    @activity.defn
    async def apply_credit_note(self, input: CashPostingInput) -> CashPostingResult:
        """Apply a posted credit note (`reference`, its ERP number) to the invoice."""
        return await self._post("credit_application", input)

    async def _post(self, kind: CashKind, input: CashPostingInput) -> CashPostingResult:
        key = cash_posting_key(input.run_id, kind, input.reference)
        body = {
            "posting_key": key,
            "kind": kind,
            "document": input.erp_document_id,
            "amount": format(input.amount, "f"),
            "currency": input.currency,
            "value_date": input.value_date.isoformat(),
            "reference": input.reference,
            "description": input.description,
        }
        async with heartbeating():
            response = await self._client.post("/erp/cash-postings", json=body)
        refused = _currency_refused(response)
        if refused is not None:
            raise permanent(ReasonCode.CURRENCY_MISMATCH, f"erp: {refused}")
        raise_for_status(response, system="erp", not_found=ReasonCode.DOCUMENT_NOT_FOUND)
        posting = _posting(response)
        return CashPostingResult(
            posting_key=posting.posting_key,
            cash_document_id=posting.cash_document_id,
            applied=posting.applied,
            to_credit=posting.to_credit,
            open_after=posting.open_after,
            already_posted=response.status_code == 200,
        )

    @activity.defn
    async def read_cash_posting(self, input: ReadCashPostingInput) -> CashPosting:
        """The ERP's record of a cash posting, to check it against what was meant."""
        async with heartbeating():
            response = await self._client.get(f"/erp/cash-postings/{segment(input.posting_key)}")
        raise_for_status(response, system="erp", not_found=ReasonCode.DOCUMENT_NOT_FOUND)
        return _posting(response)

    @activity.defn
    async def fetch_open_items(self, input: OpenItemsInput) -> OpenItems:
        params = {"all": "true"} if input.include_settled else {}
        async with heartbeating():
            response = await self._client.get(
                f"/erp/customers/{segment(input.customer_id)}/open-items", params=params
            )
        raise_for_status(response, system="erp")
        try:
            return OpenItems.model_validate(response.json())
        except (ValueError, ValidationError) as error:
            raise permanent(
                ReasonCode.BAD_REQUEST, f"erp: unreadable open items: {error}"
            ) from None


def _posting(response: httpx.Response) -> CashPosting:
    try:
        return CashPosting.model_validate(response.json())
    except (ValueError, ValidationError) as error:
        raise permanent(ReasonCode.BAD_REQUEST, f"erp: unreadable cash posting: {error}") from None

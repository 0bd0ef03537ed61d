"""Account holds in the CRM: a run blocks the customer's account at a dunning level and
releases its hold when paid. Each run holds under its own id, so the account stays blocked
while another run's invoice is still overdue; holding or releasing twice changes nothing."""

import httpx
from pydantic import ValidationError
from temporalio import activity

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from schemas.errors import ReasonCode
from schemas.payments import AccountHoldInput, AccountStatus


class AccountActivities:
    def __init__(self, *, client: httpx.AsyncClient) -> None:
        self._client = client

    @activity.defn
    async def block_account(self, input: AccountHoldInput) -> AccountStatus:
        async with heartbeating():
            response = await self._client.put(
                f"/crm/customers/{segment(input.customer_id)}/blocks/{segment(input.run_id)}",
                json={"reason": input.reason},
            )
        return _status(response)

    @activity.defn
    async def unblock_account(self, input: AccountHoldInput) -> AccountStatus:
        async with heartbeating():
            response = await self._client.delete(
                f"/crm/customers/{segment(input.customer_id)}/blocks/{segment(input.run_id)}"
            )
        return _status(response)


def _status(response: httpx.Response) -> AccountStatus:
    raise_for_status(response, system="crm", not_found=ReasonCode.CUSTOMER_NOT_FOUND)
    try:
        customer = response.json()
        return AccountStatus(
            customer_id=customer["id"],
            blocked=customer["blocked"],
            holders=[block["holder"] for block in customer["blocks"]],
        )
    except (KeyError, TypeError, ValueError, ValidationError) as error:
        raise permanent(ReasonCode.BAD_REQUEST, f"crm: unreadable customer: {error!r}") from None

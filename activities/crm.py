"""The CRM: customer master data and contracts, and a contract's terms on a given day."""

from datetime import date

import httpx
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import permanent, raise_for_status
from activities.heartbeat import heartbeating
from activities.paths import segment
from billing.customer_checks import check_customer
from schemas.contract import Contract
from schemas.customer import Customer
from schemas.errors import ReasonCode, field_problems
from schemas.steps import FetchContractInput, ValidateCustomerInput, ValidatedCustomer


class CrmActivities:
    def __init__(self, *, client: httpx.AsyncClient, vies_enabled: bool = False) -> None:
        self._client = client
        self._vies_enabled = vies_enabled

    @activity.defn
    async def validate_customer(self, input: ValidateCustomerInput) -> ValidatedCustomer:
        """Fetch the contract and its customer, and list every master-data problem."""
        async with heartbeating():
            return await self._validate(input)

    @activity.defn
    async def fetch_contract(self, input: FetchContractInput) -> Contract:
        """The contract's terms in force on `as_of`, e.g. the day before an amendment."""
        async with heartbeating():
            return await self._contract(input.contract_id, as_of=input.as_of)

    async def _contract(self, contract_id: str, *, as_of: date | None) -> Contract:
        contract, _ = await self._read_contract(contract_id, as_of=as_of, expand_customer=False)
        return contract

    async def _read_contract(
        self, contract_id: str, *, as_of: date | None, expand_customer: bool
    ) -> tuple[Contract, object]:
        """The contract, and with `expand_customer` its customer's JSON as the CRM expanded
        it in place (`expand[]=customer`, as Stripe names it): None when it did not."""
        params = {} if as_of is None else {"as_of": as_of.isoformat()}
        if expand_customer:
            params["expand[]"] = "customer"
        response = await self._client.get(f"/crm/contracts/{segment(contract_id)}", params=params)
        try:
            raise_for_status(response, system="crm", not_found=ReasonCode.CONTRACT_NOT_FOUND)
        except ApplicationError as error:
            if as_of is None or error.type != ReasonCode.CONTRACT_NOT_FOUND:
                raise
            raise permanent(
                ReasonCode.CONTRACT_NOT_FOUND,
                f"no terms of contract {contract_id} were in force on {as_of}: {error.message}",
            ) from None
        body = response.json()
        customer = (
            body.pop("customer", None) if expand_customer and isinstance(body, dict) else None
        )
        try:
            return Contract.model_validate(body), customer
        except ValidationError as error:
            raise permanent(
                ReasonCode.CONTRACT_INVALID, field_problems(error, prefix="contract.")
            ) from None

    async def _validate(self, input: ValidateCustomerInput) -> ValidatedCustomer:
        contract, expanded = await self._read_contract(
            input.contract_id, as_of=input.as_of, expand_customer=True
        )
        if expanded is None:
            # A CRM that does not expand, or has no such customer: asked on its own, which
            # names a missing customer as it always has.
            response = await self._client.get(f"/crm/customers/{segment(contract.customer_id)}")
            raise_for_status(response, system="crm", not_found=ReasonCode.CUSTOMER_NOT_FOUND)
            expanded = response.json()
        try:
            customer = Customer.model_validate(expanded)
        except ValidationError as error:
            raise permanent(
                ReasonCode.CUSTOMER_INVALID, field_problems(error, prefix="customer.")
            ) from None
        problems = check_customer(customer, contract)
        return ValidatedCustomer(
            contract=contract,
            customer=customer,
            problems=problems,
            # Only a well-formed number of a business is worth asking VIES about.
            vies_check=self._vies_enabled
            and customer.customer_type == "business"
            and bool(customer.tax_id)
            and not any(p.field == "customer.tax_id" and p.blocking for p in problems),
        )

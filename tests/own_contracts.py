"""A contract of a test's own: a seeded contract's terms, its customer and the customer's
payment methods, copied under fresh ids through the systems service's HTTP API, so what the
test bills, charges and posts (ERP keys, payment intents, holds) meets no other test."""

import uuid
from dataclasses import dataclass
from typing import Any

from tests.conftest import SystemsService


@dataclass(frozen=True)
class OwnContract:
    contract_id: str
    customer_id: str
    payment_method_ids: tuple[str, ...]


async def copy_contract(
    systems: SystemsService,
    seeded: str,
    *,
    as_of: str | None = None,
    customer: dict[str, Any] | None = None,
    payment_method: dict[str, Any] | None = None,
    every_version: bool = False,
) -> OwnContract:
    """A copy of the contract `seeded` (its terms `as_of` a day, else the latest) for a copy
    of its customer, with `customer`'s fields changed, and a copy of each of the customer's
    payment methods with `payment_method`'s fields changed: how the provider answers its
    charges (`decline_next`, `decline_code`, `processing_seconds`) is then the test's own.
    With `every_version`, each version of the seeded terms is copied, from the day it took
    effect, so an amendment of the copy meets the seeded change of terms. Usage is not
    copied: a test that bills usage sends its own events."""
    assert not (as_of and every_version), "as_of picks one version, every_version takes all"
    suffix = uuid.uuid4().hex[:10].upper()
    async with systems.client() as http:

        async def get(path: str, **params: str) -> Any:
            response = await http.get(path, params=params)
            assert response.status_code == 200, f"GET {path}: {response.text}"
            return response.json()

        async def put(path: str, body: dict[str, Any], status: int = 201) -> None:
            response = await http.put(path, json=body)
            assert response.status_code == status, f"PUT {path}: {response.text}"

        if every_version:
            versions = await get(f"/crm/contracts/{seeded}/versions")
            terms = [{**v["contract"], "effective_from": v["effective_from"]} for v in versions]
        else:
            terms = [await get(f"/crm/contracts/{seeded}", **({"as_of": as_of} if as_of else {}))]
        contract = terms[0]
        owner = await get(f"/crm/customers/{contract['customer_id']}")
        methods = await get(f"/payments/customers/{owner['id']}/payment_methods")
        customer_id, contract_id = f"CU-T{suffix}", f"C-T{suffix}"
        body = {**owner, **(customer or {}), "id": customer_id}
        await put(f"/crm/customers/{customer_id}", body)  # holds are not copied
        for index, version in enumerate(terms):  # the first creates it, each later amends it
            await put(
                f"/crm/contracts/{contract_id}",
                {**version, "id": contract_id, "customer_id": customer_id},
                201 if index == 0 else 200,
            )
        method_ids = []
        for index, method in enumerate(methods):
            method_id = f"pm_t{suffix.lower()}_{index}"
            copied = {**method, **(payment_method or {}), "customer": customer_id}
            copied.pop("id", None)
            await put(f"/payments/payment_methods/{method_id}", copied)
            method_ids.append(method_id)
    return OwnContract(
        contract_id=contract_id, customer_id=customer_id, payment_method_ids=tuple(method_ids)
    )

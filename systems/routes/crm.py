"""CRM routes: customers and their holds (blocked accounts), contracts, and a contract's
terms by effective date."""

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from systems.crud import crm
from systems.deps import SessionDep
from systems.errors import NotFound
from systems.limits import StrictJsonRoute
from systems.models.crm import (
    BlockRequest,
    ContractPublic,
    ContractUpsert,
    ContractVersionPublic,
    ContractWithCustomer,
    CustomerPublic,
    CustomerUpsert,
)

router = APIRouter(prefix="/crm", tags=["crm"], route_class=StrictJsonRoute)


@router.get("/customers")
def list_customers(session: SessionDep) -> list[CustomerPublic]:
    return [
        crm.customer_public(customer, session=session)
        for customer in crm.list_customers(session=session)
    ]


@router.get("/customers/{customer_id}")
def get_customer(session: SessionDep, customer_id: str) -> CustomerPublic:
    customer = crm.get_customer(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return crm.customer_public(customer, session=session)


@router.put("/customers/{customer_id}", responses={201: {"description": "Created"}})
def put_customer(
    session: SessionDep, customer_id: str, body: CustomerUpsert, response: Response
) -> CustomerPublic:
    customer, created = crm.upsert_customer(session=session, customer_id=customer_id, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return crm.customer_public(customer, session=session)


@router.put(
    "/customers/{customer_id}/blocks/{holder:path}", responses={201: {"description": "Held"}}
)
def put_block(
    session: SessionDep, customer_id: str, holder: str, body: BlockRequest, response: Response
) -> CustomerPublic:
    created = crm.set_block(
        session=session,
        customer_id=customer_id,
        holder=holder,
        reason=body.reason,
        now=datetime.now(UTC),
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return _customer(session, customer_id)


@router.delete("/customers/{customer_id}/blocks/{holder:path}")
def delete_block(session: SessionDep, customer_id: str, holder: str) -> CustomerPublic:
    crm.clear_block(session=session, customer_id=customer_id, holder=holder)
    return _customer(session, customer_id)


def _customer(session: SessionDep, customer_id: str) -> CustomerPublic:
    customer = crm.get_customer(session=session, customer_id=customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return crm.customer_public(customer, session=session)


@router.get("/contracts")
def list_contracts(
    session: SessionDep,
    customer_id: str | None = None,
    after: Annotated[str | None, Query(description="Page on: the contracts after this id")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="At most this many")] = None,
) -> list[ContractPublic]:
    contracts = crm.list_contracts(
        session=session, customer_id=customer_id, after=after, limit=limit
    )
    return [crm.contract_public(contract) for contract in contracts]


Expandable = Literal["customer"]
"""What a contract refers to that its answer can carry in place (Stripe's `expand[]`)."""


@router.get("/contracts/{contract_id}")
def get_contract(
    session: SessionDep,
    contract_id: str,
    as_of: Annotated[date | None, Query(description="The terms in force on this day")] = None,
    expand: Annotated[
        list[Expandable] | None,
        Query(
            alias="expand[]",
            description="customer: the contract's customer in place, in the same answer",
        ),
    ] = None,
) -> ContractPublic | ContractWithCustomer:
    if as_of is not None:
        contract = crm.contract_as_of(session=session, contract_id=contract_id, as_of=as_of)
    else:
        stored = crm.get_contract(session=session, contract_id=contract_id)
        if stored is None:
            raise NotFound(f"contract {contract_id} not found")
        contract = crm.contract_public(stored)
    if expand and "customer" in expand:
        return crm.with_customer(contract, session=session)
    return contract


@router.put("/contracts/{contract_id}", responses={201: {"description": "Created"}})
def put_contract(
    session: SessionDep, contract_id: str, body: ContractUpsert, response: Response
) -> ContractPublic:
    contract, created = crm.upsert_contract(session=session, contract_id=contract_id, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return crm.contract_public(contract)


@router.get("/contracts/{contract_id}/versions")
def list_contract_versions(session: SessionDep, contract_id: str) -> list[ContractVersionPublic]:
    return crm.contract_versions(session=session, contract_id=contract_id)

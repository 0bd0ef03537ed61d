"""Customers and contracts: read, list, upsert."""

from sqlmodel import Session, select

from systems.crud.upsert import upsert
from systems.errors import InvalidInput
from systems.models.crm import (
    Contract,
    ContractPublic,
    ContractUpsert,
    Customer,
    CustomerPublic,
    CustomerUpsert,
)


def _check_path_id(*, path_id: str, body_id: str | None) -> None:
    if body_id is not None and body_id != path_id:
        raise InvalidInput([(("body", "id"), f"{body_id!r} differs from {path_id!r} in the path")])


def get_customer(*, session: Session, customer_id: str) -> Customer | None:
    return session.get(Customer, customer_id)


def list_customers(*, session: Session) -> list[Customer]:
    return list(session.exec(select(Customer).order_by(Customer.id)))


def upsert_customer(
    *, session: Session, customer_id: str, data: CustomerUpsert
) -> tuple[Customer, bool]:
    """Store `data` under `customer_id`; True when the customer is new."""
    _check_path_id(path_id=customer_id, body_id=data.id)
    fields = data.model_dump(exclude={"id"})
    return upsert(session=session, model=Customer, key={"id": customer_id}, fields=fields)


def customer_public(customer: Customer) -> CustomerPublic:
    return CustomerPublic.model_validate(customer.model_dump())


def get_contract(*, session: Session, contract_id: str) -> Contract | None:
    return session.get(Contract, contract_id)


def list_contracts(*, session: Session, customer_id: str | None = None) -> list[Contract]:
    query = select(Contract).order_by(Contract.id)
    if customer_id is not None:
        query = query.where(Contract.customer_id == customer_id)
    return list(session.exec(query))


def upsert_contract(
    *, session: Session, contract_id: str, data: ContractUpsert
) -> tuple[Contract, bool]:
    """Store `data` under `contract_id`; True when the contract is new."""
    _check_path_id(path_id=contract_id, body_id=data.id)
    # Dates stay dates for their columns; the JSON columns get JSON (decimals as strings).
    fields = data.model_dump(exclude={"id"}) | data.model_dump(
        mode="json", include={"charges", "discounts", "minimum_commitment"}
    )
    return upsert(session=session, model=Contract, key={"id": contract_id}, fields=fields)


def contract_public(contract: Contract) -> ContractPublic:
    return ContractPublic.model_validate(contract.model_dump())


def usage_metrics(contract: Contract) -> list[str]:
    """The metric codes the contract's usage charges are rated on, in charge order."""
    codes = [charge.get("metric") for charge in contract.charges if charge.get("kind") == "usage"]
    return list(dict.fromkeys(code for code in codes if isinstance(code, str) and code))

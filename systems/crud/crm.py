"""Customers and contracts: read, list, upsert; contract terms by effective date."""

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from systems.crud.upsert import upsert
from systems.errors import InvalidInput, NotFound
from systems.models.crm import (
    BlockPublic,
    Contract,
    ContractPublic,
    ContractTerms,
    ContractUpsert,
    ContractVersion,
    ContractVersionPublic,
    ContractWithCustomer,
    Customer,
    CustomerBlock,
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


def customer_public(customer: Customer, *, session: Session) -> CustomerPublic:
    """The customer with its holds: blocked while any remains."""
    holds = session.exec(
        select(CustomerBlock)
        .where(col(CustomerBlock.customer_id) == customer.id)
        .order_by(col(CustomerBlock.blocked_at), col(CustomerBlock.holder))
    ).all()
    blocks = [BlockPublic.model_validate(hold.model_dump()) for hold in holds]
    return CustomerPublic.model_validate(
        customer.model_dump() | {"blocked": bool(blocks), "blocks": blocks}
    )


def set_block(
    *, session: Session, customer_id: str, holder: str, reason: str, now: datetime
) -> bool:
    """Hold the account for `holder`; True when the hold is new. Holding again keeps the
    first hold's time and takes the new reason."""
    if get_customer(session=session, customer_id=customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    hold = session.get(CustomerBlock, (customer_id, holder))
    if hold is not None:
        hold.reason = reason
        session.add(hold)
        session.commit()
        return False
    session.add(
        CustomerBlock(
            customer_id=customer_id, holder=holder, reason=reason, blocked_at=now.astimezone(UTC)
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # the same hold, placed concurrently
        return False
    return True


def clear_block(*, session: Session, customer_id: str, holder: str) -> bool:
    """Release `holder`'s hold; True when there was one. Releasing twice changes nothing."""
    if get_customer(session=session, customer_id=customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    hold = session.get(CustomerBlock, (customer_id, holder))
    if hold is None:
        return False
    session.delete(hold)
    session.commit()
    return True


def get_contract(*, session: Session, contract_id: str) -> Contract | None:
    return session.get(Contract, contract_id)


def list_contracts(
    *,
    session: Session,
    customer_id: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Contract]:
    """In id order; `after` and `limit` page through them (keyset: stable under inserts)."""
    query = select(Contract).order_by(col(Contract.id))
    if customer_id is not None:
        query = query.where(Contract.customer_id == customer_id)
    if after is not None:
        query = query.where(col(Contract.id) > after)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def upsert_contract(
    *, session: Session, contract_id: str, data: ContractUpsert
) -> tuple[Contract, bool]:
    """Store `data` under `contract_id`; True when the contract is new.

    With `data.effective_from`, an existing contract is amended: its current terms stay in
    force before that day and `data` takes effect on it. Without it, the current terms are
    corrected in place. A new contract's first terms take effect on `effective_from`, or on
    its `start_date`. Sending terms already stored for that day again changes nothing.
    """
    _check_path_id(path_id=contract_id, body_id=data.id)
    for attempt in range(2):
        if session.get(Contract, contract_id) is None:
            try:
                return _create_contract(session=session, contract_id=contract_id, data=data), True
            except IntegrityError:
                # Someone created it meanwhile: amend or correct theirs instead.
                session.rollback()
                if attempt:
                    raise
                continue
        return _change_contract(session=session, contract_id=contract_id, data=data), False
    raise AssertionError("unreachable")


_NOT_TERMS = {"id", "effective_from"}


def _columns(data: ContractUpsert) -> dict[str, Any]:
    # Dates stay dates for their columns; the JSON columns get JSON (decimals as strings).
    return data.model_dump(exclude=_NOT_TERMS) | data.model_dump(
        mode="json", include={"charges", "discounts", "minimum_commitment"}
    )


def _terms(data: ContractUpsert) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude=_NOT_TERMS)


def _same_terms(stored: dict[str, Any], data: ContractUpsert) -> bool:
    # Compared parsed: a discount or minimum of "10" and one of "10.0" are the same.
    return ContractTerms.model_validate(stored).model_dump() == data.model_dump(exclude=_NOT_TERMS)


def _create_contract(*, session: Session, contract_id: str, data: ContractUpsert) -> Contract:
    contract = Contract.model_validate({"id": contract_id} | _columns(data))
    session.add(contract)
    session.flush()  # the version's foreign key needs the contract row
    session.add(
        ContractVersion(
            contract_id=contract_id,
            effective_from=data.effective_from or data.start_date,
            terms=_terms(data),
        )
    )
    session.commit()
    session.refresh(contract)
    return contract


def _change_contract(*, session: Session, contract_id: str, data: ContractUpsert) -> Contract:
    # Writing the contract row first locks it (the row on PostgreSQL, the database on
    # SQLite), so two changes of one contract queue here and each sees the other's version.
    session.execute(
        sa.update(Contract).where(col(Contract.id) == contract_id).values(**_columns(data))
    )
    versions = _versions(session=session, contract_id=contract_id)
    current = versions[-1]
    if data.effective_from is None:
        current.terms = _terms(data)
        session.add(current)
    elif any(
        version.effective_from == data.effective_from and _same_terms(version.terms, data)
        for version in versions
    ):
        session.rollback()  # a repeated amendment: already stored
    elif data.effective_from <= current.effective_from:
        session.rollback()
        raise InvalidInput(
            [
                (
                    ("body", "effective_from"),
                    f"{data.effective_from} is not after {current.effective_from}, "
                    "when the current terms took effect",
                )
            ]
        )
    else:
        session.add(
            ContractVersion(
                contract_id=contract_id,
                effective_from=data.effective_from,
                terms=_terms(data),
            )
        )
    session.commit()
    contract = session.get(Contract, contract_id)
    assert contract is not None
    return contract


def _versions(*, session: Session, contract_id: str) -> list[ContractVersion]:
    """The contract's versions, oldest first; every stored contract has at least one."""
    query = (
        select(ContractVersion)
        .where(col(ContractVersion.contract_id) == contract_id)
        .order_by(col(ContractVersion.effective_from))
    )
    versions = list(session.exec(query))
    if not versions:
        raise AssertionError(f"contract {contract_id} has no versions")
    return versions


def contract_as_of(*, session: Session, contract_id: str, as_of: date) -> ContractPublic:
    """The terms in force on `as_of`; NotFound before the first terms took effect."""
    if get_contract(session=session, contract_id=contract_id) is None:
        raise NotFound(f"contract {contract_id} not found")
    versions = _versions(session=session, contract_id=contract_id)
    in_force = [version for version in versions if version.effective_from <= as_of]
    if not in_force:
        raise NotFound(
            f"contract {contract_id} had no terms in force on {as_of}: "
            f"its first terms took effect on {versions[0].effective_from}"
        )
    return _version_contract(in_force[-1])


def contract_versions(*, session: Session, contract_id: str) -> list[ContractVersionPublic]:
    """Every version, oldest first, each in force until the next one takes effect."""
    if get_contract(session=session, contract_id=contract_id) is None:
        raise NotFound(f"contract {contract_id} not found")
    versions = _versions(session=session, contract_id=contract_id)
    ends: list[date | None] = [version.effective_from for version in versions[1:]]
    return [
        ContractVersionPublic(
            effective_from=version.effective_from,
            effective_until=until,
            contract=_version_contract(version),
        )
        for version, until in zip(versions, [*ends, None], strict=True)
    ]


def _version_contract(version: ContractVersion) -> ContractPublic:
    return ContractPublic.model_validate(version.terms | {"id": version.contract_id})


def ensure_contract_versions(*, engine: Engine) -> None:
    """Give each contract stored before versions were kept its terms as its first version."""
    with Session(engine) as session:
        versioned = select(ContractVersion.contract_id)
        unversioned = session.exec(select(Contract).where(col(Contract.id).not_in(versioned)))
        for contract in unversioned:
            session.add(
                ContractVersion(
                    contract_id=contract.id,
                    effective_from=contract.start_date,
                    terms=contract_public(contract).model_dump(mode="json", exclude={"id"}),
                )
            )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another process filled them in meanwhile


def contract_public(contract: Contract) -> ContractPublic:
    return ContractPublic.model_validate(contract.model_dump())


def with_customer(contract: ContractPublic, *, session: Session) -> ContractWithCustomer:
    """The contract with its customer (None when there is no such customer)."""
    customer = get_customer(session=session, customer_id=contract.customer_id)
    public = None if customer is None else customer_public(customer, session=session)
    return ContractWithCustomer.model_validate(dict(contract) | {"customer": public})


def usage_metrics(contract: Contract) -> list[str]:
    """The metric codes the contract's usage charges are rated on, in charge order."""
    codes = [charge.get("metric") for charge in contract.charges if charge.get("kind") == "usage"]
    return list(dict.fromkeys(code for code in codes if isinstance(code, str) and code))

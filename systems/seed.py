"""The demo data (seed_data.json): customers, their payment methods at the payment provider,
contracts, metrics and October 2026 usage.

Loading is idempotent: records are upserted by id and events skipped by transaction_id,
so loading twice leaves the same data. A contract listed again with a later `effective_from`
is amended from that day (C-1016); its entries all name their `effective_from`, so loading
them again finds each version already stored.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, select

from systems.crud import crm, payments, usage
from systems.models.crm import ContractUpsert, Customer, CustomerUpsert
from systems.models.payments import PaymentMethodUpsert
from systems.models.usage import MetricUpsert, UsageEventIn


class SeedData(BaseModel):
    metrics: list[MetricUpsert]
    customers: list[CustomerUpsert]
    payment_methods: list[PaymentMethodUpsert] = []
    contracts: list[ContractUpsert]
    usage_events: list[UsageEventIn]


class SeedReport(BaseModel):
    metrics: int
    customers: int
    payment_methods: int
    contracts: int
    events_accepted: int
    events_duplicates: int


def read_seed_data() -> SeedData:
    text = Path(__file__).with_name("seed_data.json").read_text(encoding="utf-8")
    raw: dict[str, Any] = json.loads(text)
    return SeedData.model_validate(raw)


def database_is_empty(*, session: Session) -> bool:
    return session.exec(select(Customer.id).limit(1)).first() is None


def load_seed(*, session: Session, data: SeedData | None = None) -> SeedReport:
    """Upsert every record of `data` (the bundled demo data by default)."""
    data = data or read_seed_data()
    for metric in data.metrics:
        assert metric.code is not None
        usage.upsert_metric(session=session, code=metric.code, data=metric)
    for customer in data.customers:
        assert customer.id is not None
        crm.upsert_customer(session=session, customer_id=customer.id, data=customer)
    for method in data.payment_methods:
        assert method.id is not None
        payments.upsert_payment_method(session=session, method_id=method.id, data=method)
    for contract in data.contracts:
        assert contract.id is not None
        crm.upsert_contract(session=session, contract_id=contract.id, data=contract)
    ingested = usage.ingest_events(session=session, events=data.usage_events)
    return SeedReport(
        metrics=len(data.metrics),
        customers=len(data.customers),
        payment_methods=len(data.payment_methods),
        contracts=len({contract.id for contract in data.contracts}),
        events_accepted=ingested.accepted,
        events_duplicates=ingested.duplicates,
    )

"""Chaos's cash phase: the runs go on into collection, are paid under faults, and the payment
provider and the ERP are read back for exactly-once cash.

Before firing, the chaos stack's auto-collect contracts get net-0 terms and their cards stop
declining, so each card is charged as soon as its invoice is delivered (the first attempt of
the schedule falls on the due date); a bank-transfer run is paid by a `record_payment` update
for what it owes, under one reference, and the same notification is delivered a second time.
The payment provider loses answers after charging (its fault rule), as the ERP does.

Afterwards, for every run:
- `double_charge`: more than one succeeded PaymentIntent carries the run's id;
- `double_application`: the ERP holds a cash posting under the run's keys that the run did not
  apply, or applied more to the invoice than its total;
- `cash_mismatch`: a payment the run applied is missing in the ERP or reads another amount;
- `not_paid`: the run did not end `Paid`.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
from pydantic import BaseModel

from schemas.collection import CashEntry, CollectionAnswer, PaymentNotice, RecordPayment
from schemas.payments import CashPosting
from schemas.runs import RunState, RunStatus

ZERO = Decimal(0)


class Intent(BaseModel):
    """The fields of a PaymentIntent the check reads."""

    id: str
    status: str
    amount_received: int = 0
    metadata: dict[str, str] = {}


async def prepare(http: httpx.AsyncClient, contracts: Sequence[str]) -> list[str]:
    """Net-0 terms for the auto-collect contracts, cards that pay: those contracts' ids."""
    charged: list[str] = []
    for contract_id in contracts:
        contract = (await http.get(f"/crm/contracts/{contract_id}")).raise_for_status().json()
        customer_id = contract["customer_id"]
        customer = (await http.get(f"/crm/customers/{customer_id}")).raise_for_status().json()
        if customer.get("payment_method") != "auto_collect":
            continue
        contract["payment_terms_days"] = 0
        contract.pop("version", None)
        put = await http.put(f"/crm/contracts/{contract_id}", json=contract)
        put.raise_for_status()
        methods = await http.get(f"/payments/customers/{customer_id}/payment_methods")
        for method in methods.raise_for_status().json():
            method.pop("object", None)
            method.update(decline_next=0, processing_seconds=0)
            (
                await http.put(f"/payments/payment_methods/{method['id']}", json=method)
            ).raise_for_status()
        charged.append(contract_id)
    return charged


def chaos_reference(workflow_id: str) -> str:
    """The bank reference chaos pays a run under: one per run, so a resend is a duplicate."""
    return "CHAOS-" + workflow_id.replace(":", "-").replace("/", "-")[-150:]


async def pay_by_transfer(handle: Any, status: RunStatus) -> None:
    """What a bank-transfer run owes, notified twice under one reference."""
    progress = status.collection
    if progress is None or progress.payment_method != "bank_transfer" or progress.amount_due <= 0:
        return
    notice = PaymentNotice(
        amount=progress.amount_due,
        currency=progress.currency,
        reference=chaos_reference(handle.id),
        by="chaos",
    )
    for _ in range(2):  # the same notification delivered twice
        await handle.execute_update(
            "record_payment", RecordPayment(notice), result_type=CollectionAnswer
        )


async def read_cash(
    http: httpx.AsyncClient, customers: Sequence[str]
) -> tuple[list[Intent], list[CashPosting]]:
    intents: list[Intent] = []
    postings: list[CashPosting] = []
    for customer in sorted(set(customers)):
        found = await http.get(
            "/payments/payment_intents", params={"customer": customer, "limit": 1000}
        )
        intents += [Intent.model_validate(i) for i in found.raise_for_status().json()]
        cash = await http.get("/erp/cash-postings", params={"customer_id": customer, "limit": 1000})
        postings += [CashPosting.model_validate(p) for p in cash.raise_for_status().json()]
    return intents, postings


def check_cash(
    *,
    runs: Mapping[str, RunStatus | None],
    intents: Sequence[Intent],
    postings: Sequence[CashPosting],
) -> list[tuple[str, str, str]]:
    """(kind, run, detail) for each way a run's cash is not exactly once."""
    findings: list[tuple[str, str, str]] = []
    charged: dict[str, list[Intent]] = defaultdict(list)
    for intent in intents:
        if intent.status == "succeeded":
            charged[intent.metadata.get("run_id", "")].append(intent)
    by_run: dict[str, list[CashPosting]] = defaultdict(list)
    for posting in postings:
        run = next((w for w in runs if posting.posting_key.startswith(f"{w}:")), "")
        by_run[run].append(posting)
    for workflow_id, status in runs.items():
        if len(charged.get(workflow_id, [])) > 1:
            ids = ", ".join(i.id for i in charged[workflow_id])
            findings.append(
                ("double_charge", workflow_id, f"charged {len(charged[workflow_id])} times: {ids}")
            )
        if status is None or status.collection is None:
            continue
        if status.state is not RunState.PAID:
            findings.append(("not_paid", workflow_id, status.state.value))
        entries: dict[str, CashEntry] = {
            e.posting_key: e for e in status.collection.entries if e.kind != "credit_note"
        }
        erp = {p.posting_key: p for p in by_run.get(workflow_id, [])}
        for key, entry in entries.items():
            found = erp.get(key)
            if found is None or (found.amount, found.applied) != (entry.amount, entry.applied):
                seen = "none" if found is None else f"{found.amount} ({found.applied} applied)"
                findings.append(
                    (
                        "cash_mismatch",
                        workflow_id,
                        f"{key}: run {entry.amount} ({entry.applied} applied), ERP {seen}",
                    )
                )
        for key in erp.keys() - entries.keys():
            if erp[key].kind != "credit_application":
                findings.append(
                    ("double_application", workflow_id, f"{key}: the run applied no such payment")
                )
        applied = sum((p.applied for p in erp.values() if p.kind == "payment"), ZERO)
        if applied > status.collection.total:
            findings.append(
                (
                    "double_application",
                    workflow_id,
                    f"{applied} applied to a {status.collection.total} invoice",
                )
            )
    return findings

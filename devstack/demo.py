"""`q2c demo`: the embedded stack, the seeded contracts' events, and a table of outcomes."""

import asyncio
import email.policy
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.parser import BytesParser
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from temporalio.client import Client

from billing.dunning import load_dunning_policy, next_card_retry
from devstack.stack import DevStack, Ports, StackError
from ops.report.build import load, write_html
from schemas.events import ContractEvent, MilestoneCompleted
from schemas.runs import DELIVERED_OR_BEYOND, POSTED_OR_BEYOND, RunState, RunStatus
from schemas.views import APPROVALS, list_link
from starters.events import activated, amended, cycle_closed
from starters.intake import start_run
from workers.settings import Settings

PERIOD = (date(2026, 10, 1), date(2026, 11, 1))
OCCURRED = datetime(2026, 11, 1, 0, 5, tzinfo=UTC)
DUE_ON_RECEIPT = ("C-1001", "C-1002", "C-1003", "C-1012")
"""The contracts of the customers who pay by card or direct debit (CU-1001, CU-1002, CU-1003,
CU-1012): the demo makes them due on receipt, so their first charge is made at once."""


@dataclass(frozen=True)
class DemoRun:
    event: ContractEvent
    expected: RunState
    card_attempts: int = 0
    """Charges the run must have tried before the demo reads it (a decline shows then)."""
    first: bool = False
    """Started, and posted, before the others: an activation the contract's later runs need."""


def _cycle(contract_id: str, expected: RunState, card_attempts: int = 0) -> DemoRun:
    return DemoRun(
        event=cycle_closed(
            contract_id, PERIOD, event_id=f"evt-{contract_id}-2026-10", occurred_at=OCCURRED
        ),
        expected=expected,
        card_attempts=card_attempts,
    )


def demo_runs() -> list[DemoRun]:
    """An October close for most seeded contracts (C-1014's over Peppol), a go-live
    milestone and a mid-month upgrade. Card and debit customers are charged at once: paid,
    or (CU-1003, whose card declines twice) declined and waiting for the schedule's next
    try; bank transfers stay open."""
    waits = RunState.AWAITING_PAYMENT
    runs = [_cycle(f"C-{n}", waits) for n in range(1001, 1013)]
    for paid_at_once in (0, 1, 11):  # C-1001, C-1002, C-1012
        runs[paid_at_once] = _cycle(f"C-{1001 + paid_at_once}", RunState.PAID)
    runs[2] = _cycle("C-1003", RunState.OVERDUE, card_attempts=1)  # due today, card declined
    runs[7] = _cycle("C-1014", waits)  # Tulip Logistics B.V., who receive invoices over Peppol
    runs[8] = _cycle("C-1009", RunState.AWAITING_APPROVAL)  # non-standard clause, large total
    runs[9] = _cycle("C-1010", RunState.NEEDS_ATTENTION)  # broken master data
    runs.append(
        DemoRun(
            event=MilestoneCompleted(
                type="milestone.completed",
                event_id="evt-C-1002-go-live",
                schema_version=1,
                occurred_at=OCCURRED,
                contract_id="C-1002",
                milestone_id="go-live",
                completed_on=date(2026, 10, 20),
            ),
            expected=RunState.PAID,  # CU-1002 pays by direct debit
        )
    )
    runs.append(
        DemoRun(  # a credit note for the old plan's unused half month, an invoice for the new
            event=amended(
                "C-1016",
                date(2026, 10, 16),
                PERIOD[1],
                event_id="evt-C-1016-upgrade",
                occurred_at=OCCURRED,
            ),
            expected=waits,  # CU-1016 pays by bank transfer: the new plan's invoice is open
        )
    )
    return runs + annual_quarterly_runs()


ANNUAL_START, ANNUAL_Q3, ANNUAL_Q4 = date(2026, 8, 17), date(2026, 7, 1), date(2026, 10, 1)


def annual_quarterly_runs() -> list[DemoRun]:
    """C-1017, the worked example of docs/calendar.md: an annual contract invoiced quarterly
    in advance from 17 August, upgraded on 1 September, live on 15 September, and its third
    quarter closed with the API overage. CU-1017 pays by bank transfer."""
    waits = RunState.AWAITING_PAYMENT
    return [
        DemoRun(
            event=activated("C-1017", ANNUAL_START, ANNUAL_Q4, event_id="evt-C-1017-activation"),
            expected=waits,
            first=True,
        ),
        DemoRun(
            event=amended("C-1017", date(2026, 9, 1), ANNUAL_Q4, event_id="evt-C-1017-upgrade"),
            expected=waits,
        ),
        DemoRun(
            event=MilestoneCompleted(
                type="milestone.completed",
                event_id="evt-C-1017-go-live",
                schema_version=1,
                occurred_at=OCCURRED,
                contract_id="C-1017",
                milestone_id="go-live",
                completed_on=date(2026, 9, 15),
            ),
            expected=waits,
        ),
        DemoRun(
            event=cycle_closed("C-1017", (ANNUAL_Q3, ANNUAL_Q4), event_id="evt-C-1017-2026-q3"),
            expected=waits,
        ),
    ]


def _attempts(status: RunStatus) -> int:
    return status.collection.card_attempts if status.collection else 0


def _reached(run: DemoRun, status: RunStatus | None) -> bool:
    """In the state the demo expects (a run waiting for its money does not end), or ended."""
    if status is None:
        return False
    if status.state is run.expected:
        return _attempts(status) >= run.card_attempts
    return status.state.settled


async def make_due_on_receipt(http: httpx.AsyncClient, contract_ids: tuple[str, ...]) -> None:
    """Correct the contracts' current terms in place: payment due on the invoice's day."""
    for contract_id in contract_ids:
        response = await http.get(f"/crm/contracts/{contract_id}")
        response.raise_for_status()
        terms = response.json()
        terms["payment_terms_days"] = 0
        (await http.put(f"/crm/contracts/{contract_id}", json=terms)).raise_for_status()


async def fire_and_wait(
    client: Client, runs: list[DemoRun], *, task_queue: str, timeout: float, console: Console
) -> dict[str, RunStatus | None]:
    ids: dict[int, str] = {}
    for index, run in enumerate(runs):  # the activations first, each posted before the rest
        if run.first:
            ids[index] = (await start_run(client, run.event, task_queue=task_queue)).workflow_id
            await _until_posted(client, ids[index], timeout=timeout)
    for index, run in enumerate(runs):
        if not run.first:
            ids[index] = (await start_run(client, run.event, task_queue=task_queue)).workflow_id
    ids = dict(sorted(ids.items()))
    # The same event again, as a webhook retry would deliver it: nothing new starts.
    again = await start_run(client, runs[0].event, task_queue=task_queue)
    console.print(f"redelivered {runs[0].event.event_id}: {again.message}")

    statuses: dict[str, RunStatus | None] = dict.fromkeys(ids.values())
    expected = dict(zip(ids.values(), runs, strict=True))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(
        _reached(expected[w], s) for w, s in statuses.items()
    ):
        for workflow_id, status in statuses.items():
            if _reached(expected[workflow_id], status):
                continue
            handle = client.get_workflow_handle(workflow_id)
            try:
                statuses[workflow_id] = await handle.query("status", result_type=RunStatus)
            except Exception:  # the first workflow task may not have run yet
                continue
        await asyncio.sleep(0.5)
    return statuses


async def _until_posted(client: Client, workflow_id: str, *, timeout: float) -> None:
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = await handle.query("status", result_type=RunStatus)
        except Exception:  # the first workflow task may not have run yet
            status = None
        if status is not None and (status.state in POSTED_OR_BEYOND or status.state.settled):
            return
        await asyncio.sleep(0.2)


def payment_column(status: RunStatus | None) -> str:
    """How the money stands: paid (how), declined and when the card is tried next, or open."""
    collection = status.collection if status else None
    if collection is None:
        return ""
    if status is not None and status.state is RunState.PAID:
        sources = sorted({e.source or e.kind for e in collection.entries})
        return f"paid {collection.paid} ({', '.join(sources)})"
    if collection.payment_method == "auto_collect":
        declined = [e for e in collection.timeline if e.action == "charge_declined"]
        if not declined:
            return f"card charged on {collection.due_at.date()}"
        policy = load_dunning_policy().in_force(collection.due_at.date())
        retry = next_card_retry(
            policy, due_at=collection.due_at, attempts_made=collection.card_attempts
        )
        then = f"next try {retry.date()}" if retry else "no try left"
        why = declined[-1].detail.split(" (")[0].split(": ")[-1]  # the decline code
        return f"declined ×{len(declined)} ({why}), {then}"
    return f"{collection.amount_due} open, bank transfer due {collection.due_at.date()}"


def print_report(
    runs: list[DemoRun],
    statuses: dict[str, RunStatus | None],
    *,
    settings: Settings,
    console: Console,
) -> bool:
    table = Table(title="q2c demo runs")
    columns = ("workflow id", "customer", "total", "state", "payment", "reason", "expected")
    for column in columns:
        table.add_column(column, justify="right" if column == "total" else "left")
    counts = dict.fromkeys(("posted", "awaiting", "attention", "failed"), 0)
    all_expected = True
    for run, (workflow_id, status) in zip(runs, statuses.items(), strict=True):
        state = status.state if status else None
        ok = state is run.expected
        all_expected &= ok
        if state in POSTED_OR_BEYOND:  # posted, delivered, collecting or collected
            counts["posted"] += 1
        elif state is RunState.AWAITING_APPROVAL:
            counts["awaiting"] += 1
        elif state is RunState.NEEDS_ATTENTION:
            counts["attention"] += 1
        else:
            counts["failed"] += 1
        total = f"{status.total} {status.currency}" if status and status.total is not None else ""
        note = status.document("credit_note") if status is not None else None
        if note is not None:
            total += f" (credit note {note.invoice.total})"
        reason = ""
        if status is not None:
            reason = status.reason_code or ", ".join(r.code for r in status.route_reasons)
        table.add_row(
            workflow_id,
            status.customer_id if status else "",
            total,
            state.value if state else "did not settle",
            payment_column(status),
            reason,
            "ok" if ok else f"[red]expected {run.expected.value}[/]",
        )
    console.print(table)
    waiting = [w for w, s in statuses.items() if s and s.state is RunState.AWAITING_APPROVAL]
    for workflow_id in waiting:
        console.print(f"awaiting approval: {settings.ui_link(workflow_id)}")
    console.print(
        f"runs in the Web UI: {settings.ui_url}/namespaces/default/workflows "
        "(start it with `make dev`)"
    )
    if waiting:
        console.print(f"approvers' view: {list_link(settings.ui_url, APPROVALS)}", highlight=False)
    console.print(
        f"demo: {len(runs)} runs, {counts['posted']} posted, {counts['awaiting']} awaiting "
        f"approval, {counts['attention']} needs attention, {counts['failed']} failed",
        highlight=False,
    )
    return all_expected


@dataclass
class Deliveries:
    emails: int = 0
    peppol: int = 0
    problems: list[str] = field(default_factory=list)


async def check_deliveries(stack: DevStack, statuses: dict[str, RunStatus | None]) -> Deliveries:
    """Every delivered document where its channel puts it: one .eml per e-mailed document
    (found by its Message-ID) in the outbox, each Peppol document at the access point."""
    found = Deliveries()
    message_ids: dict[str, int] = {}
    for path in sorted((stack.home / "outbox").glob("*.eml")):
        with path.open("rb") as file:
            message = BytesParser(policy=email.policy.default).parse(file, headersonly=True)
        wanted = str(message["Message-ID"])
        message_ids[wanted] = message_ids.get(wanted, 0) + 1
    async with stack.systems_client() as http:
        for workflow_id, status in statuses.items():
            # Delivered, and then collecting or collected: every such run sent its documents.
            if status is None or status.state not in DELIVERED_OR_BEYOND:
                continue
            for document in status.documents:
                sent = document.delivery
                name = f"{workflow_id} {document.label} {document.erp_document_id}"
                if sent is None:
                    found.problems.append(f"{name}: no delivery recorded")
                elif sent.channel == "email":
                    count = message_ids.get(sent.message_id, 0)
                    found.emails += count == 1
                    if count != 1:
                        found.problems.append(f"{name}: {count} messages in the outbox")
                else:
                    answer = await http.get(f"/peppol/outbound/{document.erp_document_id}")
                    found.peppol += answer.status_code == 200
                    if answer.status_code != 200:
                        found.problems.append(f"{name}: not at the access point")
    return found


def run_demo(*, home: Path, timeout: float, console: Console, ports: Ports | None = None) -> int:
    """Exit code 0 only when every run reached the state the demo expects for it."""
    stack_ports = ports or Ports()
    settings = Settings(ui_url=f"http://localhost:{stack_ports.ui}")
    stale_files = ("temporal.db", "systems.db", "audit.db", "audit.db-wal", "audit.db-shm")
    for stale in (*stale_files, "logs", "outbox"):
        path = home / stale
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    stack = DevStack(home=home, ports=stack_ports, token=settings.systems_token.get_secret_value())
    runs = demo_runs()
    try:
        with console.status("starting Temporal, the systems of record and a worker…"):
            stack.start()
    except StackError as error:
        console.print(f"[red]demo:[/] {error}")
        return 2
    try:

        async def main() -> dict[str, RunStatus | None]:
            async with stack.systems_client() as http:
                await make_due_on_receipt(http, DUE_ON_RECEIPT)
            client = await stack.connect()
            return await fire_and_wait(
                client, runs, task_queue=settings.task_queue, timeout=timeout, console=console
            )

        with console.status(f"running {len(runs)} billing runs…"):
            statuses = asyncio.run(main())
        delivered = asyncio.run(check_deliveries(stack, statuses))
    finally:
        stack.stop()
    all_expected = print_report(runs, statuses, settings=settings, console=console)
    for problem in delivered.problems:
        console.print(f"[red]delivery:[/] {problem}", highlight=False)
    console.print(
        f"delivered: {delivered.emails} e-mail(s) in {home / 'outbox'}, "
        f"{delivered.peppol} document(s) at the Peppol access point",
        highlight=False,
    )
    all_expected &= not delivered.problems
    # The worker wrote the audit trail under `home` (or to Q2C_AUDIT_DATABASE_URL).
    page = write_html(load(url=Settings(home=home).audit_url), home / "report.html")
    console.print(f"report: {page}", highlight=False)
    return 0 if all_expected else 1

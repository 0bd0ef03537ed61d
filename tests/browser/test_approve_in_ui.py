"""An approver in the Temporal Web UI: open the queue (the saved view, with its columns), open
the waiting run from the link q2c prints, read on the first screen what it waits for, then
More Actions → Send a Signal, choose `approve`, type the JSON, submit; the invoice is then
posted and read back from the ERP. Payloads are encrypted, as shipped: the UI decodes the
run's summary and details and encrypts the typed signal through the dev stack's codec server.

The screenshots are the test's artefacts, written to `Q2C_SCREENSHOTS` (default
`.q2c/screenshots`); docs/approvals.md shows them from docs/img/
(`Q2C_SCREENSHOTS=docs/img pytest tests/browser` renews them).

Debian's Chromium, driven by Python Playwright (no browser download), against the UI of the
local dev server; a worker polls the task queue so the dialog can list the signals.
"""

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from devstack.stack import DevStack, Ports
from schemas.approvals import Decision
from schemas.events import workflow_id_for
from schemas.runs import RunState, RunStatus
from schemas.views import APPROVALS, DELIVERY_FAILED, DISPUTES, list_link, run_link
from starters.intake import start_run
from tests.events import cycle_closed
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TASK_QUEUE = "q2c"
VIEWPORT = {"width": 1440, "height": 900}


def _chromium() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else None
    other = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and other is None:
        pytest.skip("Chromium not found: install Debian's `chromium` package (.ci/run does)")
    return found or Path(str(other))


@pytest.fixture
def screenshots() -> Path:
    where = Path(os.environ.get("Q2C_SCREENSHOTS", ".q2c/screenshots"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """The dev server with its Web UI, the systems service and one worker process."""
    with DevStack(home=tmp_path_factory.mktemp("ui-stack"), ports=Ports.random()) as running:
        yield running


@asynccontextmanager
async def _page(chromium: Path) -> AsyncIterator[Page]:
    """A page of a headless Chromium, closed with its browser on exit."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = await browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            page.set_default_timeout(20_000)
            yield page
        finally:
            await browser.close()


async def _until_state(client: Client, workflow_id: str, state: RunState) -> RunStatus:
    handle = client.get_workflow_handle_for(QuoteToCashWorkflow.run, workflow_id)
    status: RunStatus | None = None
    for _ in range(300):
        try:
            status = await handle.query(QuoteToCashWorkflow.status)
        except Exception:  # the worker may still be starting
            status = None
        if status is not None and status.state is state:
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never reached {state}: {status}")


async def _until_one_of(client: Client, workflow_id: str, wanted: RunState) -> RunStatus:
    """`wanted`, approving on the way when the run asks for it (by update, as a script does)."""
    handle = client.get_workflow_handle_for(QuoteToCashWorkflow.run, workflow_id)
    for _ in range(600):
        try:
            status = await handle.query(QuoteToCashWorkflow.status)
        except Exception:  # the worker may still be starting
            await asyncio.sleep(0.1)
            continue
        if status.state is wanted:
            return status
        if status.state is RunState.AWAITING_APPROVAL and status.approval is not None:
            await handle.execute_update(
                QuoteToCashWorkflow.decide,
                Decision(verdict="approve", approver=status.approval.approvers[0], comment="ok"),
            )
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} never reached {wanted}")


async def _show_the_queue_as_a_view(page: Page, ui_url: str, screenshots: Path) -> None:
    """What docs/approvals.md tells an approver to do once: the columns, then Save as New."""
    await page.goto(list_link(ui_url, APPROVALS))
    await page.get_by_test_id("workflows-summary-table-configuration-button").click()
    for column in ("Run ID", "Type", "Start", "End"):
        await page.get_by_role("button", name=f"Remove {column} column").click()
    for column in APPROVALS.columns:
        await page.get_by_role("button", name=f"Add {column} column").click()
    await page.get_by_text("Columns (in view)").scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "queue-columns.png")
    await page.get_by_role("button", name="Close Workflows Table configuration").click()
    await page.get_by_test_id("create-view-button").click()
    dialog = page.locator("dialog[open]")
    await dialog.get_by_role("textbox").first.fill(APPROVALS.name)
    await page.screenshot(path=screenshots / "queue-save-view.png")
    await dialog.get_by_test_id("confirm-modal-button").click()


async def test_an_approver_approves_in_the_web_ui(stack: DevStack, screenshots: Path) -> None:
    chromium = _chromium()
    assert stack.encryption, "the UI is tested as it is shipped: payloads encrypted"
    client = await stack.connect()
    # C-1009 bills 18,000.00 USD under a non-standard clause (systems/seed_data.json):
    # above the 10,000 USD threshold, for tier 1 (ar.lead, billing.ops) of the shipped policy.
    event = cycle_closed("C-1009", 10)
    workflow_id = workflow_id_for(event)
    await start_run(client, event, task_queue=TASK_QUEUE, collect=False)
    waiting = await _until_state(client, workflow_id, RunState.AWAITING_APPROVAL)
    assert any(r.code == "non_standard_clause" for r in waiting.route_reasons)
    run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id

    async with _page(chromium) as page:
        await _show_the_queue_as_a_view(page, stack.ui_url, screenshots)
        row = page.locator("tbody tr", has_text=workflow_id)
        for shown in ("CU-1009", "18000", "high"):
            await row.get_by_text(shown).first.wait_for()
        await page.get_by_test_id("saved-views-button").get_by_text(APPROVALS.name).wait_for()
        await page.screenshot(path=screenshots / "approvals-queue.png")

        # The link q2c prints opens the run on its summary and current details.
        await page.goto(run_link(stack.ui_url, workflow_id, run_id))
        # Summary, details and current details are each rendered Markdown in a frame.
        summary = page.frame_locator("iframe").first
        await summary.get_by_text("Billing cycle closed · contract C-1009").wait_for()
        details = page.frame_locator("iframe").last
        headline = details.get_by_text("Awaiting approval").first
        await headline.wait_for()
        first_line = await details.locator("p").first.inner_text()
        for shown in (
            "ar.lead@q2c.example or billing.ops@q2c.example",
            "18,000.00 USD",
            "non-standard clause",
            "amount at or over the approval threshold",
            "due ",
        ):
            assert shown in first_line, first_line
        await details.get_by_text('{"approver": "you@company.com"').first.wait_for()
        await details.get_by_text("Non-standard clause: ").first.wait_for()
        await page.screenshot(path=screenshots / "approval-run.png")

        await page.get_by_role("button", name="More Actions").click()
        await page.get_by_role("menuitem", name="Send a Signal").click()
        dialog = page.locator("dialog[open]")
        await dialog.get_by_test_id("signal-select-button").click()
        await page.get_by_role("option", name="approve").first.click()
        editor = dialog.locator(".cm-content")
        await editor.click()
        await editor.type('{"approver": "ar.lead@q2c.example", "comment": "clause checked"')
        await page.keyboard.press("Tab")
        await page.screenshot(path=screenshots / "approval-signal.png")
        await dialog.get_by_role("button", name="Submit").click()
        posted = await _until_state(client, workflow_id, RunState.DELIVERED)

    # What the approver typed went to the server encrypted, by the codec server's /encode.
    signals = [
        e.workflow_execution_signaled_event_attributes
        async for e in client.get_workflow_handle(workflow_id).fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert [s.signal_name for s in signals] == ["approve"]
    [typed] = signals[0].input.payloads
    assert typed.metadata["encoding"] == b"binary/encrypted"
    assert b"ar.lead" not in typed.data
    assert posted.decisions[0].approver == "ar.lead@q2c.example"
    assert posted.decisions[0].comment == "clause checked"
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.systems_url, headers=headers) as http:
        [document] = posted.documents
        response = await http.get(f"/erp/postings/{document.posting_key}")
    assert response.status_code == 200, response.text
    erp = response.json()
    assert erp["erp_document_id"] == document.erp_document_id
    assert erp["invoice"]["total"] == str(document.invoice.total)


async def _copy_of_globex_without_a_street(stack: DevStack) -> str:
    """A customer like the seeded Globex GmbH (Berlin) but with no street: the EN 16931 check
    before sending refuses its invoice (VAT directive art. 226(5)), after posting."""
    suffix = uuid.uuid4().hex[:8].upper()
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.systems_url, headers=headers) as http:
        customer = (await http.get("/crm/customers/CU-1002")).json()
        customer.update(id=f"CU-U{suffix}", address={**customer["address"], "line1": ""})
        contract = (await http.get("/crm/contracts/C-1002")).json()
        contract.update(id=f"C-U{suffix}", customer_id=customer["id"])
        for path, body in (
            (f"/crm/customers/{customer['id']}", customer),
            (f"/crm/contracts/{contract['id']}", contract),
        ):
            response = await http.put(path, json=body)
            assert response.status_code == 201, response.text
    return str(contract["id"])


async def _first_screen(page: Page, link: str, headline: str, *, shot: Path) -> str:
    """The run's page as its link opens it; the first line of its current details."""
    await page.goto(link)
    details = page.frame_locator("iframe").last
    await details.get_by_text(headline).first.wait_for()
    await page.screenshot(path=shot)
    return await details.locator("p").first.inner_text()


async def _listed(page: Page, link: str, workflow_id: str) -> None:
    await page.goto(link)
    await page.locator("tbody tr", has_text=workflow_id).first.wait_for()


async def test_a_failed_delivery_and_a_dispute_say_what_they_wait_for(
    stack: DevStack, screenshots: Path
) -> None:
    chromium = _chromium()
    client = await stack.connect()
    undeliverable = cycle_closed(await _copy_of_globex_without_a_street(stack), 10)
    await start_run(client, undeliverable, task_queue=TASK_QUEUE, collect=False)
    # C-1005: a bank-transfer customer (systems/seed_data.json): its invoice waits for payment.
    disputed = cycle_closed("C-1005", 10)
    await start_run(client, disputed, task_queue=TASK_QUEUE, collect=True)
    stopped = await _until_state(client, workflow_id_for(undeliverable), RunState.NEEDS_ATTENTION)
    assert stopped.reason_code == "einvoice_invalid"
    handle = client.get_workflow_handle(workflow_id_for(disputed))
    status = await _until_one_of(client, handle.id, RunState.AWAITING_PAYMENT)
    await handle.execute_update(
        "dispute",
        {"type": "dispute.raised", "reason": "seats were not used", "by": "ar.lead@q2c.example"},
    )
    status = await _until_state(client, handle.id, RunState.DISPUTED)
    assert status.collection is not None

    async with _page(chromium) as page:
        await _listed(
            page, list_link(stack.ui_url, DELIVERY_FAILED), workflow_id_for(undeliverable)
        )
        await page.screenshot(path=screenshots / "delivery-failed-view.png")
        run_id = (
            await client.get_workflow_handle(workflow_id_for(undeliverable)).describe()
        ).run_id
        first = await _first_screen(
            page,
            run_link(stack.ui_url, workflow_id_for(undeliverable), run_id),
            "Needs attention",
            shot=screenshots / "delivery-failed-run.png",
        )
        assert "einvoice_invalid" in first, first
        assert "customer.address.line1" in first, first

        await _listed(page, list_link(stack.ui_url, DISPUTES), handle.id)
        run_id = (await handle.describe()).run_id
        first = await _first_screen(
            page,
            run_link(stack.ui_url, handle.id, run_id),
            "Disputed",
            shot=screenshots / "disputed-run.png",
        )
        due = status.collection.amount_due
        assert "seats were not used" in first and f"{due:,.2f} " in first, first
        assert "dunning paused" in first, first
    await handle.terminate("test over")

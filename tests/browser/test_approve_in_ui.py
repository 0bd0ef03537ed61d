"""An approver in the Temporal Web UI: open the waiting run, More Actions → Send a Signal,
choose `approve`, type the JSON, submit; the invoice is then posted and read back from the ERP.
Payloads are encrypted, as shipped: the UI reads the run's details and encrypts the typed
signal through the dev stack's codec server.

Debian's Chromium, driven by Python Playwright (no browser download), against the UI of the
local dev server; a worker polls the task queue so the dialog can list the signals.
"""

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import async_playwright
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from devstack.stack import DevStack, Ports
from schemas.events import workflow_id_for
from schemas.runs import RunInput, RunState, RunStatus
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


def _chromium() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else None
    other = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and other is None:
        pytest.skip("Chromium not found: install Debian's `chromium` package (.ci/run does)")
    return found or Path(str(other))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    """The dev server with its Web UI, the systems service and one worker process."""
    with DevStack(home=tmp_path_factory.mktemp("ui-stack"), ports=Ports.random()) as running:
        yield running


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


async def test_an_approver_approves_in_the_web_ui(stack: DevStack) -> None:
    chromium = _chromium()
    assert stack.encryption, "the UI is tested as it is shipped: payloads encrypted"
    client = await stack.connect()
    event = cycle_closed("C-1009", 10)
    workflow_id = workflow_id_for(event)
    await client.start_workflow(
        QuoteToCashWorkflow.run,
        RunInput(event=event, collect=False),
        id=workflow_id,
        task_queue=TASK_QUEUE,
    )
    waiting = await _until_state(client, workflow_id, RunState.AWAITING_APPROVAL)
    assert any(r.code == "non_standard_clause" for r in waiting.route_reasons)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = await browser.new_page()
            page.set_default_timeout(20_000)
            url = f"{stack.ui_url}/namespaces/default/workflows/{quote(workflow_id, safe='')}"
            await page.goto(url)
            # The run's current details show the invoice, the reasons and who is asked.
            await page.get_by_text("User Metadata").first.click()
            details = page.frame_locator("iframe").first
            await details.get_by_text("ar.lead@q2c.example").first.wait_for()
            await details.get_by_text("Non-standard clause").first.wait_for()
            await page.get_by_role("button", name="More Actions").click()
            await page.get_by_role("menuitem", name="Send a Signal").click()
            dialog = page.locator("dialog[open]")
            await dialog.get_by_test_id("signal-select-button").click()
            await page.get_by_role("option", name="approve").first.click()
            editor = dialog.locator(".cm-content")
            await editor.click()
            await editor.type('{"approver": "ar.lead@q2c.example", "comment": "clause checked"')
            await page.keyboard.press("Tab")
            await dialog.get_by_role("button", name="Submit").click()
            posted = await _until_state(client, workflow_id, RunState.DELIVERED)
        finally:
            await browser.close()

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

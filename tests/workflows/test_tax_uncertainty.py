"""The tax engine's reasons for doubt reach the approver: in the `status` query, in the run's
current details, and in the approval notification (time-skipping environment, real systems
service, a real webhook receiver)."""

import uuid
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from schemas.runs import RunState
from tests.activities.loopback import serve
from tests.conftest import SystemsService
from tests.events import cycle_closed
from tests.waiting import eventually
from tests.workflows.test_approvals import _current_details, _policy, _start_for, _webhook, _worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

# A business in France that gave no VAT number, billed by the German demo seller: the reverse
# charge rule (FR-VAT-RC, rules.csv) would apply with a valid number, so the sale is taxed as
# to a consumer and flagged, in the rule engine's words.
WHY = "FR-VAT-RC not applied: the customer gave no tax ID for FR; taxed as a sale to a consumer"


async def _french_business_without_vat_number(systems: SystemsService) -> str:
    """A customer and a contract of this test's own (C-1016's terms for them)."""
    suffix = uuid.uuid4().hex[:6]
    customer_id, contract_id = f"CU-FR-{suffix}", f"C-FR-{suffix}"
    async with systems.client() as http:
        response = await http.put(
            f"/crm/customers/{customer_id}",
            json={
                "name": "Lumière Analytique SAS",
                "email": "factures@lumiere.example",
                "customer_type": "business",
                "tax_id": "",
                "address": {"line1": "1 rue de Rivoli", "city": "Paris", "country": "FR"},
                "currency": "EUR",
            },
        )
        assert response.status_code == 201, response.text
        terms = (await http.get("/crm/contracts/C-1016", params={"as_of": "2026-01-01"})).json()
        body = {**terms, "id": contract_id, "customer_id": customer_id}
        response = await http.put(f"/crm/contracts/{contract_id}", json=body)
        assert response.status_code == 201, response.text
    return contract_id


async def test_the_tax_engines_reasons_are_in_status_details_and_the_notice(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    contract_id = await _french_business_without_vat_number(systems)
    app, received = _webhook()
    with serve(app) as url:
        policy = _policy(webhook_url=f"{url}/hook")
        async with _worker(time_skipping_env, systems, policy, f"q2c-{uuid.uuid4()}") as runner:
            handle = await _start_for(runner, cycle_closed(contract_id, 10), reminder_seconds=3600)
            waiting = await runner.wait_for(handle, RunState.AWAITING_APPROVAL)
            reasons = {r.code: r.message for r in waiting.route_reasons}
            assert reasons["tax_uncertain"] == f"The tax result is uncertain: {WHY}"
            assert f"`tax_uncertain` The tax result is uncertain: {WHY}" in (
                await _current_details(time_skipping_env, handle)
            )
            await time_skipping_env.sleep(timedelta(minutes=90))

            async def reminded() -> bool:
                await time_skipping_env.sleep(timedelta(seconds=1))
                return bool(received)

            await eventually(reminded, what="the reminder notice", within=30)
            await handle.signal("reject", {"approver": "cfo@q2c.example", "comment": "ask"})
            assert (await handle.result()).state is RunState.REJECTED
    assert [r["kind"] for r in received] == ["reminder"]
    assert WHY in received[0]["summary"]

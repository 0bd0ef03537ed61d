"""One billing run is one trace, whoever starts it: q2c, the Temporal CLI, a client without
tracing (what the Web UI is) or a schedule. The worker keeps no workflow in its cache, so every
workflow task after the first replays the run from its start: the spans written after a
replay must still land under the run's `RunWorkflow` span."""

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from devstack.histories import next_approver
from schemas.runs import RunInput, RunState, RunStatus
from starters.intake import run_handle, start_run
from tests.conftest import SystemsService, running_systems, start_dev_server
from tests.events import cycle_closed
from workers.settings import Settings
from workers.telemetry import Telemetry
from workers.worker import build_worker
from workflows.quote_to_cash import QuoteToCashWorkflow

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.e2e]

CONTRACT = "C-1001"  # bills straight through
APPROVAL_CONTRACT = "C-1009"  # a non-standard clause: waits for a person
STEPS = (
    "validate_customer", "fetch_usage", "draft_invoice", "compute_tax", "route",
    "post_invoice", "reconcile",
)  # fmt: skip


@pytest.fixture(scope="module")
def own_systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemsService]:
    """Runs here may bill the same contract and month as other tests: an ERP of their own."""
    with running_systems(tmp_path_factory.mktemp("one-trace")) as service:
        yield service


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of its own: workflow ids from business keys stay unique, and the
    schedules here touch no other test."""
    env = await start_dev_server()
    yield env
    await env.shutdown()


@dataclass
class Traced:
    exporter: InMemorySpanExporter
    client: Client
    """Carries the tracing interceptor, as every q2c process's client does."""
    task_queue: str

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@asynccontextmanager
async def traced_worker(
    server: WorkflowEnvironment, systems: SystemsService, telemetry: Telemetry | None = None
) -> AsyncIterator[Traced]:
    """A q2c worker with no workflow cache, its spans in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = telemetry or Telemetry.tracing_with(provider)
    config = server.client.config()
    config["interceptors"] = telemetry.interceptors
    client = Client(**config)
    task_queue = f"q2c-one-trace-{uuid.uuid4()}"
    settings = Settings(
        task_queue=task_queue,
        systems_url=systems.url,
        smtp_url=systems.smtp_url,
        max_cached_workflows=0,
    )
    async with telemetry.instrument(systems.client()) as http:
        async with build_worker(
            client, settings=settings, http=http, delivery_log=systems.delivery_log
        ):
            yield Traced(exporter=exporter, client=client, task_queue=task_queue)
    provider.shutdown()


def _run_input(contract_id: str, month: int) -> RunInput:
    return RunInput(event=cycle_closed(contract_id, month), collect=False)


async def _by_q2c(traced: Traced, server: WorkflowEnvironment, month: int) -> str:
    outcome = await start_run(
        traced.client, cycle_closed(CONTRACT, month), task_queue=traced.task_queue, collect=False
    )
    return outcome.workflow_id


async def _by_temporal_cli(traced: Traced, server: WorkflowEnvironment, month: int) -> str:
    workflow_id = f"cli-{uuid.uuid4()}"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "temporal"),
            "workflow",
            "start",
            "--address",
            server.client.service_client.config.target_host,
            "--namespace",
            server.client.namespace,
            "--task-queue",
            traced.task_queue,
            "--type",
            "QuoteToCash",
            "--workflow-id",
            workflow_id,
            "--input",
            _run_input(CONTRACT, month).model_dump_json(),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    return workflow_id


async def _by_untraced_client(
    traced: Traced, server: WorkflowEnvironment, month: int, contract_id: str = CONTRACT
) -> str:
    workflow_id = f"raw-{uuid.uuid4()}"
    await server.client.start_workflow(  # no interceptors: what the Web UI sends
        QuoteToCashWorkflow.run,
        _run_input(contract_id, month),
        id=workflow_id,
        task_queue=traced.task_queue,
    )
    return workflow_id


async def _by_schedule(traced: Traced, server: WorkflowEnvironment, month: int) -> str:
    schedule_id = f"schedule-{uuid.uuid4()}"
    handle = await server.client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                QuoteToCashWorkflow.run,
                _run_input(CONTRACT, month),
                id=f"scheduled-{uuid.uuid4()}",
                task_queue=traced.task_queue,
            ),
            spec=ScheduleSpec(),  # no calendar: it runs only when triggered
        ),
        trigger_immediately=True,
    )
    try:
        for _ in range(100):
            actions = (await handle.describe()).info.recent_actions
            if actions:
                action = actions[0].action
                assert hasattr(action, "workflow_id")
                return str(action.workflow_id)
            await asyncio.sleep(0.1)
        raise AssertionError(f"{schedule_id} started nothing")
    finally:
        await handle.delete()


Starter = Callable[[Traced, WorkflowEnvironment, int], Awaitable[str]]
STARTERS: dict[str, tuple[Starter, int]] = {
    "q2c": (_by_q2c, 3),
    "temporal CLI": (_by_temporal_cli, 4),
    "client without tracing (Web UI)": (_by_untraced_client, 5),
    "schedule": (_by_schedule, 6),
}


def run_trace(spans: list[ReadableSpan], workflow_id: str) -> list[ReadableSpan]:
    """The one trace holding the run's spans; fails naming the traces when there are more."""
    traces = {
        span.context.trace_id
        for span in spans
        if span.context and (span.attributes or {}).get("temporalWorkflowID") == workflow_id
    }
    assert len(traces) == 1, f"{workflow_id}: {len(traces)} traces"
    (trace_id,) = traces
    return [span for span in spans if span.context and span.context.trace_id == trace_id]


def check_one_trace(trace: list[ReadableSpan], *, starter_span: str | None) -> None:
    """One root (the starter's span, else RunWorkflow), no dangling parent, RunWorkflow the
    parent of every step, and each step's HTTP calls under its activity."""
    by_id = {span.context.span_id: span for span in trace if span.context}
    roots = [span for span in trace if span.parent is None]
    dangling = [s.name for s in trace if s.parent and s.parent.span_id not in by_id]
    assert not dangling, f"spans whose parent is in no trace: {dangling}"
    (run,) = [span for span in trace if span.name == "RunWorkflow:QuoteToCash"]
    assert run.context is not None
    if starter_span is None:
        assert roots == [run]
    else:
        assert [root.name for root in roots] == [starter_span]
        assert run.parent is not None and by_id[run.parent.span_id] is roots[0]
    workflow_spans = [
        s for s in trace if s.name.startswith(("StartActivity:", "CompleteWorkflow:"))
    ]
    for span in workflow_spans:
        assert span.parent is not None and span.parent.span_id == run.context.span_id, span.name
    names = {span.name for span in trace}
    for step in STEPS:
        assert f"StartActivity:{step}" in names, step
        assert f"RunActivity:{step}" in names, step
    assert any(span.name in {"GET", "POST", "PUT"} for span in trace)


@pytest.mark.parametrize("starter", list(STARTERS))
async def test_a_run_is_one_trace_whoever_starts_it(
    server: WorkflowEnvironment, own_systems: SystemsService, starter: str
) -> None:
    start, month = STARTERS[starter]
    async with traced_worker(server, own_systems) as traced:
        workflow_id = await start(traced, server, month)
        status = await run_handle(server.client, workflow_id).result()
        spans = traced.spans()
    assert status.state is RunState.DELIVERED, status
    trace = run_trace(spans, workflow_id)
    check_one_trace(trace, starter_span="StartWorkflow:QuoteToCash" if starter == "q2c" else None)


async def test_a_signal_from_the_ui_lands_in_the_run_trace(
    server: WorkflowEnvironment, own_systems: SystemsService
) -> None:
    async with traced_worker(server, own_systems) as traced:
        workflow_id = await _by_untraced_client(traced, server, 7, APPROVAL_CONTRACT)
        handle = run_handle(server.client, workflow_id)
        await _approve_by_signal(handle)
        status = await handle.result()
        spans = traced.spans()
    assert status.state is RunState.DELIVERED, status
    trace = run_trace(spans, workflow_id)
    check_one_trace(trace, starter_span=None)
    (run,) = [span for span in trace if span.name == "RunWorkflow:QuoteToCash"]
    signals = [span for span in trace if span.name == "HandleSignal:approve"]
    assert signals
    assert all(
        s.parent and run.context and s.parent.span_id == run.context.span_id for s in signals
    )


async def _approve_by_signal(handle: WorkflowHandle[object, RunStatus]) -> None:
    """Approve as a person does in the UI, by untyped signal, until the run leaves the wait
    (a large total needs two approvers)."""
    given = -1
    for _ in range(600):
        status = await handle.query("status", result_type=RunStatus)
        approved = len(status.approval.approved_by) if status.approval else 0
        if status.state is RunState.AWAITING_APPROVAL and approved > given:
            given = approved
            await handle.signal("approve", {"approver": next_approver(status), "comment": "ok"})
        elif status.state.settled:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{handle.id} was not approved: {status}")


async def test_the_sdk_interceptor_alone_splits_a_run_started_without_a_span(
    server: WorkflowEnvironment, own_systems: SystemsService
) -> None:
    """Why workers/tracing.py exists: `always_create_workflow_spans` alone gives the workflow's
    spans no common parent, so a run started by the CLI, the UI or a schedule is many traces."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    interceptor = TracingInterceptor(provider.get_tracer("sdk"), always_create_workflow_spans=True)
    telemetry = Telemetry(provider=provider, interceptors=[interceptor])
    async with traced_worker(server, own_systems, telemetry) as traced:
        workflow_id = await _by_untraced_client(traced, server, 8)
        await run_handle(server.client, workflow_id).result()
    traces = {
        span.context.trace_id
        for span in exporter.get_finished_spans()
        if span.context and (span.attributes or {}).get("temporalWorkflowID") == workflow_id
    }
    assert len(traces) > 1

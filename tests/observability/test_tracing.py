"""One run is one trace: the starter's span, the workflow, every activity and its HTTP calls."""

import uuid

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from schemas.runs import RunState
from tests.conftest import SystemsService
from tests.observability.runs import run_to_end
from tests.own_contracts import copy_contract
from workers.settings import Settings
from workers.telemetry import Telemetry
from workers.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEPS = (
    "validate_customer", "fetch_usage", "draft_invoice", "compute_tax", "fetch_route_history",
    "route", "post_invoice", "reconcile",
)  # fmt: skip


async def test_one_run_is_one_trace_with_http_spans_under_the_activities(
    time_skipping_env: WorkflowEnvironment, systems: SystemsService
) -> None:
    # A copy of C-1008 (straight through), copied before the tracer exists: it posts under a
    # key of its own, and the copy's calls are not in the trace.
    contract_id = (await copy_contract(systems, "C-1008")).contract_id
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = Telemetry.tracing_with(provider)
    config = time_skipping_env.client.config()
    config["interceptors"] = telemetry.interceptors
    client = Client(**config)
    task_queue = f"q2c-trace-{uuid.uuid4()}"
    settings = Settings(task_queue=task_queue, systems_url=systems.url, smtp_url=systems.smtp_url)
    async with telemetry.instrument(systems.client()) as http:
        async with build_worker(
            client, settings=settings, http=http, delivery_log=systems.delivery_log
        ):
            _, status = await run_to_end(
                client, contract_id=contract_id, month=10, task_queue=task_queue
            )
    assert status.state is RunState.DELIVERED
    provider.shutdown()

    spans = exporter.get_finished_spans()
    assert len({span.context.trace_id for span in spans if span.context}) == 1
    names = [span.name for span in spans]
    assert "StartWorkflow:QuoteToCash" in names
    assert "RunWorkflow:QuoteToCash" in names
    for step in STEPS:
        assert f"StartActivity:{step}" in names, step
        assert f"RunActivity:{step}" in names, step

    by_id = {span.context.span_id: span for span in spans if span.context}
    http_spans = [s for s in spans if s.name in {"GET", "POST", "PUT"}]
    assert http_spans, names
    parents = {_parent_name(span, by_id) for span in http_spans}
    assert parents <= {f"RunActivity:{step}" for step in STEPS}
    assert {"RunActivity:validate_customer", "RunActivity:post_invoice"} <= parents
    assert "RunActivity:route" not in parents  # it decides from its input alone


def _parent_name(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> str:
    assert span.parent is not None
    return by_id[span.parent.span_id].name

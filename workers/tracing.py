"""One trace per billing run, whoever starts it.

Temporal's `TracingInterceptor` puts a workflow's spans under the span of the client that
started it; a run started without one (the Temporal CLI, the Web UI, a schedule) gets no
workflow spans, or with `always_create_workflow_spans` each span in a trace of its own. Here
the run's `RunWorkflow` span takes ids derived from its run id: the root of a trace, or a
child of the starter's span when there is one, and the parent of every later span of the run.
Being derived, the ids are the same when a worker replays the run after a restart, so spans
written after a replay still land in the run's trace.

It leans on private hooks of `temporalio.contrib.opentelemetry` (pinned in pyproject.toml);
tests/observability/test_one_trace.py fails if an SDK upgrade moves them.
"""

import hashlib
from contextvars import ContextVar
from typing import Any

import opentelemetry.context
from opentelemetry.propagators.textmap import CarrierValT
from opentelemetry.sdk.trace import Tracer, TracerProvider
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    get_current_span,
    set_span_in_context,
)
from temporalio import workflow
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import ExecuteWorkflowInput, WorkflowInterceptorClassInput

Carrier = dict[str, CarrierValT]

_RUN_SPAN_IDS: ContextVar[tuple[int, int] | None] = ContextVar("q2c_run_span_ids", default=None)


def run_span_ids(run_id: str) -> tuple[int, int]:
    """The trace id (used when no starter span is there) and span id of a run's
    `RunWorkflow` span: the same on every worker and every replay."""
    digest = hashlib.sha256(run_id.encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1, int.from_bytes(digest[16:24], "big") or 1


class _RunSpanIds(IdGenerator):
    """Random ids, except for the `RunWorkflow` span being created."""

    def __init__(self, fallback: IdGenerator) -> None:
        self._fallback = fallback

    def generate_trace_id(self) -> int:
        preset = _RUN_SPAN_IDS.get()
        return preset[0] if preset else self._fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        preset = _RUN_SPAN_IDS.get()
        return preset[1] if preset else self._fallback.generate_span_id()


class RunTracingInterceptor(TracingInterceptor):
    """Temporal's tracing interceptor, with one trace per run (client, worker, workflow)."""

    def __init__(self, provider: TracerProvider) -> None:
        tracer = provider.get_tracer("q2c")
        if not isinstance(tracer, Tracer):  # a disabled SDK hands out a no-op tracer
            raise TypeError("provider: an OpenTelemetry SDK TracerProvider is needed")
        tracer.id_generator = _RunSpanIds(tracer.id_generator)
        super().__init__(tracer, always_create_workflow_spans=True)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span-writing extern
        return _RunWorkflowInterceptor

    def _completed_workflow_span(self, params: Any) -> Carrier | None:
        if params.name.startswith("HandleQuery:") and params.parent_missing:
            return None  # a query nobody traced (the UI's, say) is no part of the run
        if not params.name.startswith("RunWorkflow:"):
            return super()._completed_workflow_span(params)
        token = _RUN_SPAN_IDS.set(run_span_ids(str(params.attributes["temporalRunID"])))
        try:
            return super()._completed_workflow_span(params)
        finally:
            _RUN_SPAN_IDS.reset(token)


class _RunWorkflowInterceptor(TracingWorkflowInboundInterceptor):
    """Inside the workflow: `RunWorkflow` under the starter's span, the rest under it."""

    def _starter_carrier(self) -> Carrier | None:
        header = workflow.info().headers.get(self.header_key)
        if not header:
            return None
        carrier: Carrier = self.payload_converter.from_payloads([header])[0]
        return carrier or None

    def _starter_context(self) -> opentelemetry.context.Context:
        starter = self._starter_carrier()
        if starter is None:
            return opentelemetry.context.Context()
        return self.text_map_propagator.extract(starter)

    def _load_workflow_context_carrier(self) -> Carrier | None:
        """The run's own span as the parent of every span the workflow writes."""
        if self._workflow_context_carrier is None:
            context = self._starter_context()
            starter = get_current_span(context).get_span_context()
            trace_id, span_id = run_span_ids(workflow.info().run_id)
            run = SpanContext(
                trace_id=starter.trace_id if starter.is_valid else trace_id,
                span_id=span_id,
                is_remote=True,
                trace_flags=starter.trace_flags
                if starter.is_valid
                else TraceFlags(TraceFlags.SAMPLED),
            )
            carrier: Carrier = {}
            self.text_map_propagator.inject(
                carrier, context=set_span_in_context(NonRecordingSpan(run), context)
            )
            self._workflow_context_carrier = carrier
        return self._workflow_context_carrier

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        token = opentelemetry.context.attach(self._starter_context())
        try:
            self._completed_span(
                f"RunWorkflow:{workflow.info().workflow_type}", kind=SpanKind.SERVER
            )
        finally:
            opentelemetry.context.detach(token)
        with self._top_level_workflow_context(success_is_complete=True):
            return await self.next.execute_workflow(input)

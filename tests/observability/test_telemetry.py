"""Exporters chosen by OTEL_* variables, off by default; SDK metrics served for Prometheus."""

import uuid

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.stack import free_port
from workers.client import data_converter
from workers.settings import Settings
from workers.telemetry import (
    TelemetryError,
    _from_environment,
    from_environment,
    metrics_runtime,
    span_exporters,
    tracer_provider,
)
from workflows.quote_to_cash import QuoteToCashWorkflow


def test_tracing_is_off_unless_asked_for() -> None:
    assert tracer_provider({}) is None
    assert tracer_provider({"OTEL_TRACES_EXPORTER": "none"}) is None


def test_console_and_otlp_exporters_by_name() -> None:
    exporters = span_exporters({"OTEL_TRACES_EXPORTER": "console, otlp"})
    assert [type(e) for e in exporters] == [ConsoleSpanExporter, OTLPSpanExporter]


def test_a_provider_carries_the_service_name() -> None:
    provider = tracer_provider({"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "q2c-eu"})
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "q2c-eu"
    provider.shutdown()


def test_an_unknown_exporter_is_named_in_the_error() -> None:
    with pytest.raises(TelemetryError, match="OTEL_TRACES_EXPORTER: unknown exporter 'zipkin'"):
        span_exporters({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_an_unsupported_otlp_protocol_is_named_in_the_error() -> None:
    with pytest.raises(TelemetryError, match="OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'"):
        span_exporters({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_metrics_are_off_without_a_port() -> None:
    assert metrics_runtime(Settings()) is None


@pytest.mark.asyncio(loop_scope="session")
async def test_sdk_metrics_are_served_for_prometheus(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    port = free_port()
    runtime = metrics_runtime(Settings(metrics_port=port))
    assert runtime is not None
    target = time_skipping_env.client.service_client.config.target_host
    client = await Client.connect(target, runtime=runtime, data_converter=data_converter())
    async with Worker(
        client, task_queue=f"q2c-metrics-{uuid.uuid4()}", workflows=[QuoteToCashWorkflow]
    ):
        async with httpx.AsyncClient() as http:
            response = await http.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert "temporal_request" in response.text
    assert "temporal_worker_start" in response.text


def test_only_the_worker_serves_the_metrics_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    """`q2c start` beside a worker must not bind the worker's metrics port."""
    monkeypatch.setenv("Q2C_METRICS_PORT", str(free_port()))
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    _from_environment.cache_clear()
    try:
        assert from_environment(metrics=False).runtime is None
    finally:
        _from_environment.cache_clear()

"""Traces and metrics. Traces: the standard OTEL_* variables choose the exporter (console,
otlp or none; default none, and then no tracer, no interceptor, nothing to pay). Metrics:
the Temporal SDK's own, served for Prometheus when Q2C_METRICS_PORT is set."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

import httpx
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from temporalio.client import Interceptor
from temporalio.runtime import (
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from workers.settings import Settings
from workers.tracing import RunTracingInterceptor

OTLP_PROTOCOLS = ("http/protobuf",)


class TelemetryError(ValueError):
    """A telemetry variable names something q2c cannot do."""


def span_exporters(env: Mapping[str, str]) -> list[SpanExporter]:
    """The exporters OTEL_TRACES_EXPORTER names (comma-separated); none by default."""
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "none").split(",")]
    exporters: list[SpanExporter] = []
    for name in names:
        if name in ("", "none"):
            continue
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
                "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
            )
            if protocol not in OTLP_PROTOCOLS:
                raise TelemetryError(
                    f"OTEL_EXPORTER_OTLP_PROTOCOL: {protocol!r} is not supported; "
                    f"use {', '.join(OTLP_PROTOCOLS)}"
                )
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporters.append(OTLPSpanExporter())  # endpoint and headers from OTEL_EXPORTER_OTLP_*
        else:
            raise TelemetryError(
                f"OTEL_TRACES_EXPORTER: unknown exporter {name!r}; use console, otlp or none"
            )
    return exporters


def tracer_provider(env: Mapping[str, str]) -> TracerProvider | None:
    exporters = span_exporters(env)
    if not exporters:
        return None
    resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME", "q2c")})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def metrics_runtime(settings: Settings) -> Runtime | None:
    if settings.metrics_port is None:
        return None
    bind = f"{settings.metrics_host}:{settings.metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))


@dataclass(frozen=True, kw_only=True)
class Telemetry:
    """What a process's clients and workers are built with."""

    provider: TracerProvider | None = None
    runtime: Runtime | None = None
    interceptors: list[Interceptor] = field(default_factory=list)

    @classmethod
    def tracing_with(
        cls, provider: TracerProvider, *, runtime: Runtime | None = None
    ) -> "Telemetry":
        return cls(
            provider=provider, runtime=runtime, interceptors=[RunTracingInterceptor(provider)]
        )

    def instrument(self, client: httpx.AsyncClient) -> httpx.AsyncClient:
        """Give the client's requests spans, children of the activity span they run in."""
        if self.provider is not None:
            HTTPXClientInstrumentor.instrument_client(client, tracer_provider=self.provider)
        return client

    def shutdown(self) -> None:
        if self.provider is not None:
            self.provider.shutdown()


@cache
def _global_tracer_provider() -> TracerProvider | None:
    """Once per process: the global tracer provider may be set only once."""
    provider = tracer_provider(os.environ)
    if provider is not None:
        trace.set_tracer_provider(provider)
    return provider


def from_environment(*, metrics: bool = True) -> Telemetry:
    """What the OTEL_* and Q2C_METRICS_* variables ask for; `metrics=False` for processes
    that must not serve the metrics endpoint (only the worker does)."""
    return _from_environment(metrics)


@cache
def _from_environment(metrics: bool) -> Telemetry:
    """Once per process and kind: a second metrics runtime would bind the port again."""
    runtime = metrics_runtime(Settings()) if metrics else None
    provider = _global_tracer_provider()
    if provider is None:
        return Telemetry(runtime=runtime)
    return Telemetry.tracing_with(provider, runtime=runtime)


@cache
def quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors: for replays, whose failures the outcome already
    reports once, and for clients of a server that restarts on purpose."""
    quiet = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=quiet)))

"""The one way q2c connects to Temporal: envconfig for the connection, pydantic payloads,
and the tracing interceptor, so a run started from any q2c process is traced from its start."""

from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

if TYPE_CHECKING:
    from workers.telemetry import Telemetry

DEFAULT_ADDRESS = "localhost:7233"


def data_converter() -> DataConverter:
    """How payloads are encoded, for every client, worker and replayer (a codec goes here)."""
    return pydantic_data_converter


def connect_config() -> dict[str, object]:
    """Keyword arguments for `Client.connect`, from TEMPORAL_* variables or a profile."""
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


async def connect(
    address: str | None = None,
    *,
    telemetry: "Telemetry | None" = None,
    runtime: Runtime | None = None,
) -> Client:
    """`address` overrides TEMPORAL_ADDRESS (a dev stack's own server). Telemetry defaults to
    the tracing the OTEL_* variables ask for, without the metrics endpoint, which only the
    worker serves. `runtime` overrides the telemetry's (a quieter log, say)."""
    from workers.telemetry import from_environment

    telemetry = telemetry or from_environment(metrics=False)
    config = connect_config()
    target = str(config.pop("target_host"))
    return await Client.connect(
        address or target,
        data_converter=data_converter(),
        interceptors=telemetry.interceptors,
        runtime=runtime or telemetry.runtime,
        **config,  # type: ignore[arg-type]
    )

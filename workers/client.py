"""The one way q2c connects to Temporal: envconfig for the connection, pydantic payloads."""

from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

if TYPE_CHECKING:
    from workers.telemetry import Telemetry

DEFAULT_ADDRESS = "localhost:7233"


def connect_config() -> dict[str, object]:
    """Keyword arguments for `Client.connect`, from TEMPORAL_* variables or a profile."""
    config = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", "default")
    return config


async def connect(*, telemetry: "Telemetry | None" = None) -> Client:
    """Telemetry defaults to what the OTEL_* and Q2C_METRICS_* variables ask for."""
    from workers.telemetry import from_environment

    telemetry = telemetry or from_environment()
    config = connect_config()
    return await Client.connect(
        str(config.pop("target_host")),
        data_converter=pydantic_data_converter,
        interceptors=telemetry.interceptors,
        runtime=telemetry.runtime,
        **config,  # type: ignore[arg-type]
    )

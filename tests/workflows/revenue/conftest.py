"""Recognition runs sweep every deferred line of the ERP, so each test gets a systems
service, and so an ERP, of its own."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SystemsService, running_systems


@pytest.fixture
def own_systems(tmp_path: Path) -> Iterator[SystemsService]:
    with running_systems(tmp_path) as service:
        yield service


@pytest.fixture
async def http(own_systems: SystemsService) -> AsyncIterator[httpx.AsyncClient]:
    async with own_systems.client() as client:
        yield client

"""The approval webhook is posted through the worker's pooled client for outside services,
not a client (and a connection) of its own per notice."""

from typing import Any

import httpx
from fastapi import FastAPI
from temporalio import activity
from temporalio.testing import ActivityEnvironment

from billing.routing import load_policy
from schemas.steps import NotifyInput
from tests.activities import loopback
from workers.settings import Settings
from workers.worker import activities_for


async def test_notices_go_through_the_outside_client() -> None:
    received: list[dict[str, Any]] = []
    app = FastAPI()

    @app.post("/hook")
    async def hook(body: dict[str, Any]) -> dict[str, str]:
        received.append(body)
        return {}

    sent: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent.append(f"{request.method} {request.url.path}")

    shipped = load_policy()
    with loopback.serve(app) as url:
        policy = shipped.model_copy(
            update={"notify": shipped.notify.model_copy(update={"webhook_url": f"{url}/hook"})}
        )
        async with (
            httpx.AsyncClient() as http,
            httpx.AsyncClient(event_hooks={"request": [record]}) as outside,
        ):
            registered = activities_for(
                http=http, settings=Settings(), policy=policy, outside=outside
            )
            [notify] = [
                fn
                for fn in registered
                if activity._Definition.must_from_callable(fn).name == "notify"
            ]
            notice = NotifyInput(kind="reminder", workflow_id="wf-1", summary="approve INV-1")
            await ActivityEnvironment().run(notify, notice)
    assert sent == ["POST /hook"]
    assert [(body["kind"], body["workflow_id"]) for body in received] == [("reminder", "wf-1")]

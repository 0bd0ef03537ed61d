"""`POST /v1/events`: signed, versioned, validated events in; started runs out.

The order of the checks is the order of their cost: size and media type, the signature, the
source's rate, a webhook id already answered, the body's schema, the source's scopes; then each
event is made durable (started, recorded or dead-lettered) before the 202.
"""

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from temporalio.client import Client

from schemas.wire import EVENT_TYPES, VERSIONS, WIRE_MODELS, WireError, json_schema, parse_wire
from starters.intake_http.problems import KINDS, MEDIA_TYPE, FieldProblem, Problem, ProblemError
from starters.intake_http.ratelimit import RateLimiter
from starters.intake_http.service import (
    Accepted,
    Conflict,
    ContractCheck,
    Intake,
    InvoiceDirectory,
    Unavailable,
)
from starters.intake_http.settings import IntakeSettings
from starters.intake_http.signatures import SignatureError, verify
from starters.intake_http.store import IntakeRequest, IntakeStore

logger = logging.getLogger("q2c.intake")
_T = TypeVar("_T")


class EventAccepted(BaseModel):
    event_id: str
    type: str
    outcome: str
    workflow_id: str
    message: str
    status: int = 202
    dead_letter_id: int | None = None
    unapplied_id: int | None = None
    problem: Problem | None = None


class BatchAccepted(BaseModel):
    results: list[EventAccepted]


def _accepted(result: Accepted) -> EventAccepted:
    return EventAccepted(
        event_id=result.event_id,
        type=result.event_type,
        outcome=result.outcome.value,
        workflow_id=result.workflow_id,
        message=result.message,
        dead_letter_id=result.dead_letter_id,
        unapplied_id=result.unapplied_id,
    )


def _conflict(error: Conflict) -> ProblemError:
    return ProblemError(
        "conflict",
        str(error),
        workflow_id=error.workflow_id,
        existing_event=error.existing_event,
        new_event=error.new_event,
    )


async def _read_body(request: Request, *, limit: int) -> bytes:
    too_large = f"body: over the limit of {limit} bytes"
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isascii() or not declared.isdigit():
            raise ProblemError("malformed-request", "content-length: not a number")
        if int(declared) > limit:
            raise ProblemError("too-large", too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ProblemError("too-large", too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def _not_a_number(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _json_document(body: bytes) -> Any:
    """The body as JSON; a 422 for what is not (RFC 8259 has no NaN or Infinity)."""
    try:
        return json.loads(body, parse_constant=_not_a_number)
    except RecursionError:
        reason = "nested too deep"
    except ValueError as error:  # not UTF-8, not JSON, NaN or Infinity
        reason = str(error) if len(str(error)) <= 200 else str(error)[:200] + "…"
    raise ProblemError(
        "invalid-event",
        f"body: not valid JSON ({reason})",
        errors=[FieldProblem(pointer="", detail="not valid JSON")],
    )


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _events_of(document: Any, max_batch: int) -> tuple[list[Any], bool]:
    """The events in the body and whether it is a batch; a 422 when it is neither."""
    if isinstance(document, dict) and "events" in document and "type" not in document:
        events = document["events"]
        if not isinstance(events, list) or not events:
            raise ProblemError(
                "invalid-event",
                "events: a batch is a non-empty array of events",
                errors=[FieldProblem(pointer="/events", detail="a non-empty array")],
            )
        if len(events) > max_batch:
            raise ProblemError(
                "invalid-event",
                f"events: at most {max_batch} events per batch, got {len(events)}",
                errors=[FieldProblem(pointer="/events", detail=f"at most {max_batch} items")],
            )
        return events, True
    if isinstance(document, dict):
        return [document], False
    raise ProblemError(
        "invalid-event",
        'body: one event object, or {"events": [...]}',
        errors=[FieldProblem(pointer="", detail="a JSON object")],
    )


def create_app(
    *,
    client: Client,
    store: IntakeStore,
    settings: IntakeSettings,
    contracts: ContractCheck | None = None,
    invoices: InvoiceDirectory | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The intake over an injected Temporal client and store (created by the caller)."""
    intake = Intake(
        client=client,
        store=store,
        task_queue=settings.task_queue,
        approval_timeout_seconds=settings.approval_timeout_seconds,
        temporal_timeout_seconds=settings.intake_temporal_timeout_seconds,
        contracts=contracts,
        invoices=invoices,
    )
    limiter = RateLimiter(rate=settings.intake_rate_per_second, burst=settings.intake_rate_burst)
    retry_after = {"Retry-After": str(settings.intake_retry_after_seconds)}
    app = FastAPI(
        title="q2c event intake",
        version="1",
        description="Signed contract and payment events (Standard Webhooks) start q2c's runs.",
    )
    app.state.intake = intake

    async def stored(call: Callable[[], _T]) -> _T:
        try:
            return await asyncio.to_thread(call)
        except SQLAlchemyError as error:
            logger.warning("intake store unavailable: %s", error)
            raise ProblemError(
                "unavailable", "q2c's database is unreachable", headers=retry_after
            ) from None

    async def accept_all(events: list[Any], source: str, webhook_id: str) -> list[EventAccepted]:
        async def one(event: Any) -> EventAccepted:
            try:
                return _accepted(await intake.accept(event, source=source, webhook_id=webhook_id))
            except Conflict as error:
                problem = _conflict(error).problem()
                return EventAccepted(
                    event_id=event.event_id,
                    type=event.type,
                    outcome="conflict",
                    workflow_id=error.workflow_id,
                    message=str(error),
                    status=409,
                    problem=problem,
                )

        try:
            return list(await asyncio.gather(*(one(event) for event in events)))
        except Unavailable as error:
            raise ProblemError("unavailable", str(error), headers=retry_after) from None
        except SQLAlchemyError as error:
            logger.warning("intake store unavailable: %s", error)
            raise ProblemError(
                "unavailable", "q2c's database is unreachable", headers=retry_after
            ) from None

    @app.exception_handler(ProblemError)
    async def problem(request: Request, error: ProblemError) -> Response:
        del request
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        del request
        errors = [
            FieldProblem(pointer="/" + "/".join(map(str, item["loc"])), detail=item["msg"])
            for item in error.errors()
        ]
        return ProblemError("invalid-request", "the request is invalid", errors=errors).response()

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        del request
        slug = {404: "not-found", 405: "method-not-allowed"}.get(
            error.status_code, "malformed-request"
        )
        return ProblemError(slug, str(error.detail), headers=dict(error.headers or {})).response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return ProblemError("internal", f"internal error: {type(error).__name__}").response()

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/v1/events",
        status_code=202,
        tags=["events"],
        summary="Deliver one event or a batch",
        response_model=EventAccepted | BatchAccepted,
        responses={
            code: {"description": KINDS[slug].title}
            for slug, code in (
                ("unauthorized", 401),
                ("forbidden", 403),
                ("conflict", 409),
                ("too-large", 413),
                ("unsupported-media-type", 415),
                ("invalid-event", 422),
                ("rate-limited", 429),
                ("unavailable", 503),
                ("malformed-request", 400),
            )
        },
        openapi_extra={"x-q2c-body": True},
    )
    async def events(request: Request) -> Response:
        began = time.perf_counter()
        received = datetime.now(UTC)
        base = IntakeRequest(received_at=received, status=0, outcome="", latency_ms=0.0)
        try:
            status, content, rows, headers = await handle(request, base)
        except ProblemError as error:
            status, headers = error.kind.status, error.headers
            content = error.problem().model_dump(mode="json", exclude_none=True)
            rows = [base.model_copy(update={"outcome": error.kind.slug, "detail": error.detail})]
        latency = (time.perf_counter() - began) * 1000
        for row in rows:
            row.status = row.status or status
            row.latency_ms = round(latency, 2)
        media = "application/json" if status < 400 else MEDIA_TYPE
        # The log is written once the answer is out: it records the request, it does not
        # make the event durable (the run, the dead letter or the unapplied cash does).
        return JSONResponse(
            content,
            status_code=status,
            media_type=media,
            headers=headers,
            background=BackgroundTask(write_log, rows),
        )

    async def write_log(rows: list[IntakeRequest]) -> None:
        try:
            await asyncio.to_thread(store.log, rows)
        except SQLAlchemyError as error:  # the answer stands; the log line says what is missing
            logger.error("request log not written: %s", error)

    async def handle(
        request: Request, base: IntakeRequest
    ) -> tuple[int, Any, list[IntakeRequest], dict[str, str]]:
        body = await _read_body(request, limit=settings.intake_max_body_bytes)
        if not _is_json(request.headers.get("content-type", "")):
            raise ProblemError("unsupported-media-type", "content-type: send application/json")
        try:
            signed = verify(
                request.headers,
                body,
                secrets=settings.webhook_secrets,
                now=clock(),
                tolerance=settings.webhook_tolerance_seconds,
            )
        except SignatureError as error:
            raise ProblemError("unauthorized", str(error)) from None
        base.source, base.webhook_id = signed.source, signed.webhook_id
        wait = limiter.take(signed.source)
        if wait:
            raise ProblemError(
                "rate-limited",
                f"source {signed.source}: over {settings.intake_rate_per_second:g} requests/s",
                headers={"Retry-After": str(wait)},
            )
        key = f"{signed.source}:{signed.webhook_id}"
        digest = hashlib.sha256(body).hexdigest()
        earlier = await stored(lambda: store.delivery(key))
        if earlier is not None:
            if earlier.body_digest != digest:
                raise ProblemError(
                    "conflict",
                    f"webhook-id {signed.webhook_id} was delivered before with another body",
                    webhook_id=signed.webhook_id,
                )
            row = base.model_copy(update={"outcome": "replayed", "status": earlier.status})
            media = {"Content-Type": MEDIA_TYPE} if earlier.status >= 400 else {}
            return earlier.status, json.loads(earlier.response), [row], media
        document = _json_document(body)
        raw_events, batch = _events_of(document, settings.intake_max_batch)
        parsed, problems, version_only = [], [], True
        for index, raw in enumerate(raw_events):
            prefix = f"/events/{index}" if batch else ""
            try:
                parsed.append(parse_wire(raw))
            except WireError as error:
                for item in error.problems:
                    problems.append(FieldProblem(pointer=prefix + item.pointer, detail=item.detail))
                    version_only &= item.pointer == "/schema_version"
        if problems:
            detail = "; ".join(f"{p.pointer or '/'}: {p.detail}" for p in problems)
            if version_only:
                raise ProblemError(
                    "unsupported-version", detail, errors=problems, accepted_versions=list(VERSIONS)
                )
            raise ProblemError("invalid-event", detail, errors=problems)
        allowed = set(settings.webhook_scopes.get(signed.source, []))
        refused = sorted({event.type for event in parsed} - allowed)
        if refused:
            raise ProblemError(
                "forbidden",
                f"source {signed.source} may not send {', '.join(refused)}",
                source=signed.source,
                refused_types=refused,
            )
        results = await accept_all(parsed, signed.source, signed.webhook_id)
        rows = [
            base.model_copy(
                update={
                    "event_id": r.event_id,
                    "event_type": r.type,
                    "outcome": r.outcome,
                    "status": r.status,
                    "workflow_id": r.workflow_id,
                    "detail": r.message[:500],
                }
            )
            for r in results
        ]
        headers: dict[str, str] = {}
        if batch:
            status, content = 202, BatchAccepted(results=results).model_dump(mode="json")
        elif results[0].problem is not None:
            status, headers = 409, {"Content-Type": MEDIA_TYPE}
            content = results[0].problem.model_dump(mode="json", exclude_none=True)
        else:
            status = 202
            content = results[0].model_dump(mode="json", exclude_none=True)
        response = json.dumps(content)
        await stored(
            lambda: store.remember(key, body_digest=digest, status=status, response=response)
        )
        return status, content, rows, headers

    @app.get("/v1/schemas", tags=["schemas"], summary="Event types and their versions")
    async def schema_index() -> dict[str, list[str]]:
        return {
            event_type: [f"/v1/schemas/{event_type}/{v}" for v in VERSIONS]
            for event_type in EVENT_TYPES
        }

    @app.get(
        "/v1/schemas/{event_type}/{version}",
        tags=["schemas"],
        summary="The JSON Schema of one event type in one version",
        responses={404: {"description": "No such type or version"}},
    )
    async def schema(event_type: str, version: int) -> dict[str, Any]:
        if event_type not in EVENT_TYPES or version not in VERSIONS:
            raise ProblemError(
                "not-found",
                f"no schema for {event_type} version {version}; types: {', '.join(EVENT_TYPES)}"
                f"; versions: {', '.join(map(str, VERSIONS))}",
            )
        return json_schema(event_type, version)

    @app.get(
        "/problems/{slug}",
        tags=["problems"],
        summary="What a problem type means",
        responses={404: {"description": "No such problem type"}},
    )
    async def problem_type(slug: str) -> dict[str, Any]:
        kind = KINDS.get(slug)
        if kind is None:
            raise ProblemError("not-found", f"no problem type {slug}")
        return {
            "type": kind.type,
            "title": kind.title,
            "status": kind.status,
            "description": kind.description,
        }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi(app, settings.intake_max_batch)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, max_batch: int) -> dict[str, Any]:
    """FastAPI's document, plus the event bodies, the signature headers, and problem+json
    for every error answer."""
    spec = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (model, "validation") for v in VERSIONS for model in WIRE_MODELS[v].values()
    ]
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components.update(defs.get("$defs", {}))
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Problem"].pop("$defs", {}))
    one_event = {"oneOf": [refs[key] for key in models]}
    batch = {
        "type": "object",
        "required": ["events"],
        "properties": {
            "events": {"type": "array", "minItems": 1, "maxItems": max_batch, "items": one_event}
        },
    }
    for path in spec["paths"].values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                if code[0] in "45":
                    response["content"] = {
                        MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    }
            if operation.pop("x-q2c-body", False):
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"anyOf": [one_event, batch]}}},
                }
                operation["parameters"] = [
                    {
                        "name": name,
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": text,
                    }
                    for name, text in (
                        ("webhook-id", "Unique per event delivery; the same on retries"),
                        ("webhook-timestamp", "Seconds since the epoch; within 5 minutes of now"),
                        ("webhook-signature", "v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
                    )
                ]
    return spec

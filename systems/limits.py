"""What the service takes in: bodies up to a size, JSON without NaN or Infinity, text
without NUL characters, and errors that never send the input back.

A real CRM or ERP refuses such input with a 4xx; the stand-in must too, or q2c's handling of
those answers is never exercised. PostgreSQL cannot store a NUL in text, SQLite would store it
silently, so it is refused before either sees it.
"""

import functools
import inspect
import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_DETAIL_CHARS = 300
"""An error message is cut here: an error names the field and the reason, not the input."""


def short(text: str, limit: int = MAX_DETAIL_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotJsonNumber(f"{name} is not a JSON number")


def _nul_at(value: Any) -> list[str | int] | None:
    """Where the first string (or key) holding a NUL character is, or None."""
    stack: list[tuple[list[str | int], Any]] = [([], value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return path
                stack.append(([*path, key], child))
        elif isinstance(item, list):
            stack.extend(([*path, index], child) for index, child in enumerate(item))
    return None


def _problem(loc: list[str | int], msg: str, kind: str = "value_error") -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"type": kind, "loc": ["body", *loc], "msg": msg}],
    )


def strict_json(body: bytes) -> Any:
    """The body as JSON, or a 422 naming what is wrong with it: not UTF-8, not JSON, NaN or
    Infinity (not numbers in JSON), nesting too deep for a parser, or a NUL character."""
    try:
        document = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise _problem([], f"not UTF-8 (byte {error.start})", "json_invalid") from None
    except _NotJsonNumber as error:
        raise _problem([], str(error), "json_invalid") from None
    except json.JSONDecodeError as error:
        raise _problem([error.pos], f"JSON decode error: {error.msg}", "json_invalid") from None
    except RecursionError:
        raise _problem([], "JSON nested too deep", "json_invalid") from None
    where = _nul_at(document)
    if where is not None:
        raise _problem(where, "contains a NUL character (\\u0000), which text may not hold")
    return document


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by `strict_json`, and whose plain function runs in
    the thread pool in one hop.

    FastAPI runs a plain function in the thread pool, then checks its answer against the
    response model in the pool again: two hops, each costing about as much CPU as a short
    query. Run as a coroutine that awaits the function in the pool, the check is done on the
    loop (it is CPU only). The signature, and so the parameters, dependencies, response
    model and OpenAPI schema, are the function's own (`functools.wraps`).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _one_hop(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def _one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def in_pool(**values: Any) -> Any:
        return await run_in_threadpool(endpoint, **values)

    return in_pool


class InputLimits:
    """ASGI middleware: 413 for a body over `max_body_bytes` (declared or streamed), 422 for
    a NUL character in the path or the query string."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope["query_string"]:
            where = "path" if "\x00" in scope["path"] else "query"
            await _send_json(send, 422, [{"type": "value_error", "loc": [where], "msg": _NUL}])
            return
        too_large = f"body: over the limit of {self.max_body_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _send_json(send, 413, too_large)
            return
        messages, size = [], 0
        while True:  # bounded: the body is read only up to the limit
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                await _send_json(send, 413, too_large)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(iter(messages), receive), send)


_NUL = "contains a NUL character, which text may not hold"


def _replay(messages: Iterator[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return next(messages, None) or await receive()

    return replayed


async def _send_json(send: Send, status_code: int, detail: object) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})

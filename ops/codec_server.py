"""The codec server: lets the Web UI and the `temporal` CLI show encrypted payloads to people
allowed to see them, and lets the UI encrypt what a person types (a signal's input).

`POST /encode` and `POST /decode` take and answer `{"payloads": [...]}`, Temporal's JSON of
`temporal.api.common.v1.Payloads`, the way the UI (Remote Codec Endpoint) and
`temporal --codec-endpoint` call them. The browser calls it straight from the UI's page, so
the UI's origin is allowed by CORS, with the `X-Namespace` and `Authorization` headers the UI
sends. With a token configured, every call must carry `Authorization: Bearer <token>` (the
UI's "pass access token", the CLI's `--codec-auth`).

Bind it to loopback or put it behind the same access control as the keys: whoever can call
`/decode` reads what the keys protect.
"""

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from workers.codec import EncryptionCodec, PayloadDecryptError

log = logging.getLogger("q2c.codec")
Transform = Callable[[Iterable[Payload]], Awaitable[list[Payload]]]


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def build_app(
    codec: EncryptionCodec,
    *,
    origins: Sequence[str],
    token: str | None = None,
    namespaces: Sequence[str] = (),
) -> FastAPI:
    """`namespaces`, when given, are the only ones whose payloads it handles (X-Namespace)."""
    app = FastAPI(title="q2c codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        allow_headers=["content-type", "x-namespace", "authorization"],
        allow_credentials=True,
    )
    expected = f"Bearer {token}" if token else None

    def _refusal(request: Request) -> JSONResponse | None:
        if expected is not None:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), expected.encode()):
                return _problem(
                    401,
                    "Authorization: a bearer token is required",
                    {"WWW-Authenticate": 'Bearer realm="q2c codec"'},
                )
        namespace = request.headers.get("x-namespace")
        if namespaces and namespace not in namespaces:
            return _problem(403, f"X-Namespace: {namespace!r} is not served here")
        return None

    async def _apply(transform: Transform, request: Request) -> Response:
        refused = _refusal(request)
        if refused is not None:
            return refused
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _problem(415, "Content-Type: must be application/json")
        try:
            payloads = json_format.Parse(await request.body(), Payloads())
        except (json_format.ParseError, UnicodeDecodeError) as error:  # not UTF-8: no JSON
            return _problem(400, f"body: not Temporal's Payloads JSON: {error}")
        try:
            result = Payloads(payloads=await transform(payloads.payloads))
        except PayloadDecryptError as error:
            log.warning("decode refused: %s", error)
            return _problem(422, str(error))
        return Response(json_format.MessageToJson(result), media_type="application/json")

    @app.post("/encode")
    async def encode(request: Request) -> Response:
        return await _apply(codec.encode, request)

    @app.post("/decode")
    async def decode(request: Request) -> Response:
        return await _apply(codec.decode, request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

"""Request dependencies: the database session and the bearer-token check.

Both are coroutines: FastAPI runs a plain function dependency in the thread pool, a hop that
cost as much CPU as a whole read. Neither blocks the loop: building a Session does no I/O
(its first query, in the route's thread, takes a connection); closing it, which may talk
to the database, is the one hop left.
"""

import secrets
from collections.abc import AsyncIterator
from typing import Annotated, cast

import anyio
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from systems.faults import FaultInjector

_bearer = HTTPBearer(auto_error=False, description="The token from Q2C_SYSTEMS_TOKEN")


async def get_session(request: Request) -> AsyncIterator[Session]:
    session = Session(cast(Engine, request.app.state.engine))
    try:
        yield session
    finally:
        # As FastAPI exits a dependency: shielded from the request's cancellation, and on a
        # limiter of its own, so a full thread pool waiting for connections cannot keep the
        # close that would free one from running.
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))


SessionDep = Annotated[Session, Depends(get_session)]


async def get_injector(request: Request) -> FaultInjector:
    return cast(FaultInjector, request.app.state.faults)


InjectorDep = Annotated[FaultInjector, Depends(get_injector)]


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected = cast(str, request.app.state.token)
    if credentials is None:
        reason = "missing bearer token (Authorization: Bearer <token>)"
    elif not secrets.compare_digest(credentials.credentials.encode(), expected.encode()):
        reason = "invalid bearer token"
    else:
        return
    raise HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": "Bearer"},
    )

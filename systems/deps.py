"""Request dependencies: the database session and the bearer-token check."""

import secrets
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from systems.faults import FaultInjector

_bearer = HTTPBearer(auto_error=False, description="The token from Q2C_SYSTEMS_TOKEN")


def get_session(request: Request) -> Iterator[Session]:
    with Session(cast(Engine, request.app.state.engine)) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_injector(request: Request) -> FaultInjector:
    return cast(FaultInjector, request.app.state.faults)


InjectorDep = Annotated[FaultInjector, Depends(get_injector)]


def require_token(
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

"""The FastAPI application: CRM, usage platform, ERP and payment provider, with bearer auth
and faults."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from systems.crud.faults import load_rules, save_rules
from systems.crud.revenue import PeriodClosed
from systems.db import create_tables, make_engine
from systems.deps import require_token
from systems.errors import Conflict, InvalidInput, NotFound
from systems.faults import FaultInjector, FaultMiddleware, FaultRule
from systems.limits import InputLimits, short
from systems.routes import admin, crm, erp, erp_cash, payments, peppol, revenue, usage
from systems.seed import database_is_empty, load_seed
from systems.settings import SystemsSettings

logger = logging.getLogger("systems")


def prepare_database(
    *, engine: Engine, schema: str | None, seed: bool, force_seed: bool = False
) -> None:
    """Create missing tables; load the demo data if `seed` and the database is empty, or if
    `force_seed` (loading is idempotent)."""
    create_tables(engine=engine, schema=schema)
    if not (seed or force_seed):
        return
    with Session(engine) as session:
        if force_seed or database_is_empty(session=session):
            report = load_seed(session=session)
            logger.info("loaded the demo data: %s", report.model_dump())


def restore_faults(injector: FaultInjector, *, engine: Engine, given: list[FaultRule]) -> None:
    """The rules kept from before a restart, those given at start (`Q2C_SYSTEMS_FAULTS`)
    over them; from now on every change is kept."""
    for rule in [*load_rules(engine=engine), *given]:
        injector.set(rule=rule)
    injector.on_change = lambda rules: save_rules(engine=engine, rules=rules)
    save_rules(engine=engine, rules=injector.rules())
    if injector.rules():
        logger.info("faults in force: %s", [r.model_dump() for r in injector.rules()])


def create_app(
    *, settings: SystemsSettings, engine: Engine | None = None, force_seed: bool = False
) -> FastAPI:
    """Build the app; tables are created (and the seed loaded) when it starts."""
    engine = engine or make_engine(url=settings.database_url, schema=settings.database_schema)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        del app
        prepare_database(
            engine=engine,
            schema=settings.database_schema,
            seed=settings.seed,
            force_seed=force_seed,
        )
        restore_faults(injector, engine=engine, given=settings.faults)
        yield
        engine.dispose()

    app = FastAPI(
        title="q2c systems of record",
        description="An embedded CRM, usage platform, ERP, payment provider and Peppol access "
        "point, reached by q2c over HTTP.",
        lifespan=lifespan,
        # An id ending in an encoded "/" is an unknown id (404), not a redirect to another one.
        redirect_slashes=False,
    )
    injector = FaultInjector(rules=settings.faults)
    app.state.engine = engine
    app.state.token = settings.token
    app.state.faults = injector
    app.add_middleware(FaultMiddleware, injector=injector)
    app.add_middleware(InputLimits, max_body_bytes=settings.max_body_bytes)
    _add_error_handlers(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    authenticated = [Depends(require_token)]
    routers = (
        crm.router,
        usage.router,
        erp.router,
        erp_cash.router,
        revenue.router,
        payments.router,
        peppol.router,
        admin.router,
    )
    for router in routers:
        app.include_router(router, dependencies=authenticated)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # FastAPI's own handler echoes each field's input: a large body came back thrice over.
        del request
        detail = [
            {"type": item["type"], "loc": list(item["loc"]), "msg": short(str(item["msg"]))}
            for item in error.errors()[:20]
        ]
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content=jsonable_encoder({"detail": detail}),
        )

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
        del request
        detail = [
            {"type": "value_error", "loc": list(loc), "msg": short(msg)}
            for loc, msg in error.problems
        ]
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content=jsonable_encoder({"detail": detail}),
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, error: NotFound) -> JSONResponse:
        del request
        return JSONResponse(
            status_code=status.HTTP_404_NOT_FOUND, content={"detail": short(str(error))}
        )

    @app.exception_handler(PeriodClosed)
    async def period_closed(request: Request, error: PeriodClosed) -> JSONResponse:
        del request
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={
                "detail": str(error),
                "code": error.code,
                "month": error.month,
                "next_open": error.next_open,
            },
        )

    @app.exception_handler(Conflict)
    async def conflict(request: Request, error: Conflict) -> JSONResponse:
        del request
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT, content={"detail": short(str(error))}
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return JSONResponse(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
            content={"detail": f"internal error: {type(error).__name__}"},
        )

"""Faults on demand: make the CRM, the usage platform, the ERP, the payment provider or the
Peppol access point fail, slow down or throttle.

Rules are keyed by system, i.e. by path prefix (`/crm`, `/usage`, `/erp`, `/payments`,
`/peppol`); `/admin` and `/healthz` are never faulted. For each request to a faulted system,
in this order: wait `latency_ms`; answer 503 (with Retry-After) at `unavailable_rate`; 429
(with Retry-After) at `throttle_rate`; 500 at `error_rate`. Otherwise the request is handled,
and for a write (POST, PUT, DELETE) at `drop_response_rate` the committed result is replaced
by a 504: the change is stored but the client never learns it, as when a gateway times out
after the backend committed.
"""

import asyncio
import json
import random
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SystemName = Literal["crm", "usage", "erp", "payments", "peppol"]
FaultTarget = Literal["crm", "usage", "erp", "payments", "peppol", "*"]
SYSTEMS: tuple[SystemName, ...] = ("crm", "usage", "erp", "payments", "peppol")
_WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


class FaultRule(BaseModel):
    system: FaultTarget = Field(description="A system, or * for all of them")
    error_rate: float = Field(default=0, ge=0, le=1, description="Share answered 500")
    throttle_rate: float = Field(default=0, ge=0, le=1, description="Share answered 429")
    retry_after_seconds: int = Field(default=1, ge=0, le=3600)
    unavailable_rate: float = Field(default=0, ge=0, le=1, description="Share answered 503")
    latency_ms: int = Field(default=0, ge=0, le=60_000, description="Added to every request")
    drop_response_rate: float = Field(
        default=0, ge=0, le=1, description="Share of writes committed, then answered 504"
    )
    seed: int | None = Field(default=None, description="Seed of the dice, for reproducible runs")


class _ActiveRule:
    """A rule with its own dice, so a seeded rule gives the same sequence every run."""

    def __init__(self, *, rule: FaultRule) -> None:
        self.rule = rule
        self.dice = random.Random(rule.seed)

    def roll(self, rate: float) -> bool:
        return self.dice.random() < rate


class FaultInjector:
    """The faults in force, one rule per system."""

    def __init__(self, *, rules: Iterable[FaultRule] = ()) -> None:
        self._active: dict[SystemName, _ActiveRule] = {}
        self.on_change: Callable[[list[FaultRule]], None] | None = None
        """Called with the rules in force after each change: the app keeps them in its
        database, so they survive a restart."""
        for rule in rules:
            self.set(rule=rule)

    def set(self, *, rule: FaultRule) -> None:
        targets = SYSTEMS if rule.system == "*" else (rule.system,)
        for system in targets:
            self._active[system] = _ActiveRule(rule=rule.model_copy(update={"system": system}))
        self._changed()

    def clear(self, *, system: SystemName | None = None) -> None:
        if system is None:
            self._active.clear()
        else:
            self._active.pop(system, None)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.rules())

    def rules(self) -> list[FaultRule]:
        return [self._active[system].rule for system in SYSTEMS if system in self._active]

    def active_for(self, *, system: SystemName) -> _ActiveRule | None:
        return self._active.get(system)


def system_for_path(path: str) -> SystemName | None:
    for system in SYSTEMS:
        if path == f"/{system}" or path.startswith(f"/{system}/"):
            return system
    return None


async def _send_json(send: Send, *, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


class FaultMiddleware:
    """ASGI middleware that applies the injector's rules by path prefix."""

    def __init__(self, app: ASGIApp, *, injector: FaultInjector) -> None:
        self.app = app
        self.injector = injector

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        system = system_for_path(scope["path"])
        active = self.injector.active_for(system=system) if system else None
        if active is None:
            await self.app(scope, receive, send)
            return
        rule = active.rule
        # Roll every die on every request, so a seeded run does not depend on which fired.
        rolls = {
            "unavailable": active.roll(rule.unavailable_rate),
            "throttle": active.roll(rule.throttle_rate),
            "error": active.roll(rule.error_rate),
            "drop_response": active.roll(rule.drop_response_rate),
        }
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        retry_after = {"retry-after": str(rule.retry_after_seconds)}
        for kind, status, detail, headers in (
            ("unavailable", 503, "unavailable", retry_after),
            ("throttle", 429, "rate limit exceeded", retry_after),
            ("error", 500, "internal error", {}),
        ):
            if rolls[kind]:
                headers = headers | {"x-q2c-fault": kind}
                await _send_json(
                    send,
                    status=status,
                    detail=f"injected fault: {system} {detail}",
                    headers=headers,
                )
                return
        if rolls["drop_response"] and scope["method"] in _WRITES:
            await self.app(scope, receive, _swallow)
            await _send_json(
                send,
                status=504,
                detail=f"injected fault: {system} committed the request, the response was lost",
                headers={"x-q2c-fault": "drop_response"},
            )
            return
        await self.app(scope, receive, send)


async def _swallow(message: Message) -> None:
    del message  # the committed response is lost on its way back


def parse_rules(value: Any) -> Any:
    """A single rule object is accepted where a list of rules is expected."""
    return [value] if isinstance(value, dict) else value

"""Errors the data-access layer raises; the app turns them into JSON `{"detail": ...}`."""

from collections.abc import Sequence


class InvalidInput(ValueError):
    """Input that parsed but breaks a rule; answered 422 like FastAPI's validation errors."""

    def __init__(self, problems: Sequence[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems))
        self.problems = list(problems)


class NotFound(LookupError):
    """An unknown id; answered 404."""


class Conflict(Exception):
    """The request contradicts what is already stored; answered 409."""

"""A policy file: TOML read into a pydantic model, from a given path, else the path an
environment variable names, else the default shipped in the `billing` package."""

import os
import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from schemas.errors import field_problems

Policy = TypeVar("Policy", bound=BaseModel)


def load_policy_file(
    model: type[Policy],
    *,
    path: Path | None,
    env: str,
    shipped: str,
    error: Callable[[str], Exception],
) -> Policy:
    """`shipped` is a file name in the `billing` package; every failure (unreadable file,
    bad TOML, a field the model refuses) raises `error` with the source and the cause."""
    named = os.environ.get(env)
    chosen = path or (Path(named) if named else None)
    if chosen is None:
        source = f"billing/{shipped}"
        text = resources.files("billing").joinpath(shipped).read_text()
    else:
        source = str(chosen)
        try:
            text = chosen.read_text()
        except OSError as failure:
            raise error(f"{source}: {failure.strerror}") from None
    try:
        return model.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as failure:
        raise error(f"{source}: not valid TOML: {failure}") from None
    except ValidationError as failure:
        raise error(f"{source}: {field_problems(failure)}") from None

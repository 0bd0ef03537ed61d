"""Pydantic models built from values the rating engine produced itself.

`model_validate` checks every amount of every line again (a Python callback per `Amount`):
a quarter of the time of an invoice. `model_construct` skips the checks but walks the
fields and their aliases in Python, and costs more than validating. Rating's output needs
neither: its inputs were validated when the contract and the usage were, and it makes only
`Decimal`s, `date`s and `str`s from them. `construct` sets the instance state exactly as
`model_construct` does, for models with no post-init hook, private attributes or extras;
any other model goes through `model_construct` itself.
"""

from collections.abc import Set
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__


@cache
def _plain(model: type[BaseModel]) -> bool:
    return (
        not model.__pydantic_root_model__
        and model.__pydantic_post_init__ is None
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
    )


def construct(model: type[M], values: dict[str, Any], fields_set: Set[str]) -> M:
    """`model` holding `values`, unchecked, as if validated from a dict with keys `fields_set`.

    `values` must name every field of `model` and nothing else, in declaration order,
    defaults included; the instance keeps the dict itself.
    """
    if len(values) != len(model.__pydantic_fields__):
        # A cheap guard against a forgotten field; the tests compare whole documents.
        missing = model.__pydantic_fields__.keys() ^ values.keys()
        raise TypeError(f"{model.__name__}: values must name every field ({sorted(missing)})")
    if not _plain(model):
        return model.model_construct(set(fields_set), **values)
    instance = _new(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(fields_set))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance

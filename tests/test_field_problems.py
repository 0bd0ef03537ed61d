"""Every refusal of typed input names the field path and the reason, one way everywhere."""

import pytest
from pydantic import BaseModel, Field, ValidationError, model_validator

from schemas.errors import field_problems


class Line(BaseModel):
    amount: int = Field(gt=0)


class Order(BaseModel):
    lines: list[Line]
    note: str

    @model_validator(mode="after")
    def _two_lines_at_most(self) -> "Order":
        if len(self.lines) > 2:
            raise ValueError("at most two lines")
        return self


def _error(raw: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Order.model_validate(raw)
    return caught.value


def test_each_problem_names_its_path_after_the_prefix() -> None:
    error = _error({"lines": [{"amount": 1}, {"amount": 0}]})
    assert field_problems(error, prefix="order.") == (
        "order.lines.1.amount: Input should be greater than 0; order.note: Field required"
    )


def test_a_check_of_the_whole_input_is_named_as_asked_and_lines_can_be_split() -> None:
    error = _error({"lines": [{"amount": 1}] * 3, "note": ""})
    assert field_problems(error, whole="(file)") == "(file): Value error, at most two lines"
    two = _error({"lines": [{"amount": 0}]})
    assert field_problems(two, sep="\n").splitlines() == [
        "lines.0.amount: Input should be greater than 0",
        "note: Field required",
    ]

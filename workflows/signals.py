"""Input typed by a person in the Web UI's *Send a Signal* dialog: taken loosely, refused
visibly on the run (`RunStatus.refused`), never dropped."""

from typing import TypeVar

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import PayloadConverter

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel, ValidationError

    from schemas.approvals import RefusedAttempt
    from schemas.bounded import KEPT_REFUSALS, cut, cut_bytes
    from schemas.errors import field_problems
    from workflows.run_view import RunView

M = TypeVar("M", bound=BaseModel)


def received(payload: RawValue) -> str:
    """What arrived, as text, for the refusal to show: cut, and marked as cut."""
    return cut_bytes(payload.payload.data)


def read_signal(payload: RawValue, model: type[M]) -> M | str:
    """The input as `model`, or why it is not one: each field named with its reason."""
    return parse_signal(payload.payload, model, converter=workflow.payload_converter())


def parse_signal(payload: Payload, model: type[M], *, converter: PayloadConverter) -> M | str:
    """`read_signal` with the converter given: the same parse, callable outside a workflow."""
    try:
        raw = converter.from_payload(payload)
        return model.model_validate(raw)
    except ValidationError as error:
        return field_problems(error, whole="input")
    except Exception as error:  # undecodable input is refused, not raised
        return f"input is not a JSON object ({error})"


def refuse(view: RunView, received: str, cause: str) -> None:
    """Keep a refused input on the run, with why: the cause cut, and only the latest
    attempts, with a count of them all. In every run, begun before `bounded-input` or
    since: what a run keeps is state, not commands, so a run replays the same either way."""
    status = view.status
    cause = cut(cause)
    status.refused_count = max(status.refused_count, len(status.refused)) + 1
    workflow.logger.warning("refused: %s", cause)
    status.refused.append(RefusedAttempt(received=received, cause=cause, at=workflow.now()))
    del status.refused[:-KEPT_REFUSALS]
    view.refresh_details()

"""Replay recorded histories against the current workflow code.

A history is what the server recorded for one run; replaying it runs today's workflow code
through the same events. A change that would break a run in flight fails here, with the
event id where the code and the history part ways.
"""

import dataclasses
import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter, DefaultFailureConverter
from temporalio.worker import Replayer

from workers.client import data_converter
from workers.telemetry import quiet_runtime
from workflows.calendar_fanout import CalendarFanOutWorkflow
from workflows.quote_to_cash import QuoteToCashWorkflow
from workflows.revenue_recognition import RevenueRecognitionWorkflow

WORKFLOWS: Sequence[type] = (
    QuoteToCashWorkflow,
    RevenueRecognitionWorkflow,
    CalendarFanOutWorkflow,
)
"""The workflows a history may be of: billing runs, monthly recognition runs, and the
calendar's fan-outs."""
_EVENT_ID = re.compile(r"(?:HistoryEvent\(id: |event[ _]id[ :=]*)(\d+)", re.IGNORECASE)
_CORE_MESSAGE = re.compile(r'message: "(.*?)"(?:, source:|$)')


class HistoryFileError(ValueError):
    """A file is not a history export; the message names the file and why."""


@dataclass(frozen=True, kw_only=True)
class ReplayOutcome:
    source: str
    workflow_id: str
    error: str | None = None
    event_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def load_history(path: Path) -> WorkflowHistory:
    """A history exported by `temporal workflow show --output json` or the UI's download."""
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise HistoryFileError(f"{path}: {error.strerror}") from None
    except ValueError as error:
        raise HistoryFileError(f"{path}: not JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        raise HistoryFileError(f'{path}: not a workflow history (no "events" list)')
    try:
        return WorkflowHistory.from_json(path.stem, data)
    except Exception as error:  # the protobuf parser's errors have no common base
        raise HistoryFileError(f"{path}: not a workflow history: {error}") from None


def history_files(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories expand to the JSON files beneath them, sorted."""
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return files


def _message(failure: Exception) -> str:
    """The core's own sentence, not the protobuf dump wrapped around it."""
    text = str(failure)
    found = _CORE_MESSAGE.search(text)
    return f"{type(failure).__name__}: {found.group(1) if found else text}"


_QUOTED = re.compile(r"'([^']+)'")


def _event_id(message: str, history: WorkflowHistory) -> int | None:
    """The event the core names; else the first event holding the value it quotes.

    The core says "HistoryEvent(id: 14, ...)" for most mismatches, but names only the values
    for some ("Activity type of scheduled event 'x' does not match ... 'y'"): the first
    quoted value is the history's side, so the first event that holds it is the one.
    """
    found = _EVENT_ID.search(message)
    if found:
        return int(found.group(1))
    quoted = _QUOTED.search(message)
    if quoted:
        needle = f'"{quoted.group(1)}"'
        for event in history.events:
            if needle in str(event):
                return int(event.event_id)
    return None


async def replay(
    histories: Iterable[tuple[str, WorkflowHistory]],
    *,
    workflows: Sequence[type] = WORKFLOWS,
    converter: DataConverter | None = None,
) -> list[ReplayOutcome]:
    """Replay each (source, history) with the worker's data converter (or `converter`, that
    of a stack with keys of its own); never raises on one."""
    items = list(histories)
    sources = {id(history): source for source, history in items}
    # The core logs each failed replay as a warning; the outcome already says it, once.
    # A replay writes nothing to the server, so its failures stay readable: a payload that
    # does not decrypt is reported with the key id it names.
    readable = dataclasses.replace(
        converter or data_converter(), failure_converter_class=DefaultFailureConverter
    )
    replayer = Replayer(workflows=workflows, data_converter=readable, runtime=quiet_runtime())
    outcomes: list[ReplayOutcome] = []

    async def each() -> AsyncIterator[WorkflowHistory]:
        for _, history in items:
            yield history

    async with replayer.workflow_replay_iterator(each()) as results:
        async for result in results:
            failure = result.replay_failure
            message = None if failure is None else _message(failure)
            outcomes.append(
                ReplayOutcome(
                    source=sources[id(result.history)],
                    workflow_id=result.history.workflow_id,
                    error=message,
                    event_id=None if message is None else _event_id(message, result.history),
                )
            )
    return outcomes


async def fetch_histories(
    client: Client, *, workflow_ids: Sequence[str] = (), query: str | None = None
) -> AsyncIterator[tuple[str, WorkflowHistory]]:
    """Histories from the server: by workflow id (latest run), and/or by a visibility query."""
    for workflow_id in workflow_ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        yield f"server:{workflow_id}", history
    if query is not None:
        async for history in client.list_workflows(query).map_histories():
            yield f"server:{history.workflow_id}", history

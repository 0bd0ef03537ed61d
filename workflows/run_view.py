"""What a run shows while it runs: the `status` query's model, the search attributes the
UI's list filters on, and the current details the UI renders."""

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from schemas.runs import RunState, RunStatus
    from workflows.details import current_details


class RunView:
    def __init__(self, status: RunStatus) -> None:
        self.status = status
        self.batch_upserts = False
        """Set by the run: the attributes set in one workflow task go up in one upsert."""
        self._pending: dict[str, SearchAttributeUpdate[Any]] = {}
        self.bounded = False
        """Set by the run (the `bounded-input` patch): a person's input is cut before it is
        kept, and refused attempts are kept to the last few (schemas/bounded.py)."""

    def set_state(self, state: RunState) -> None:
        self.status.state = state
        self.upsert(sa.Q2C_STATUS.value_set(state.value))
        self.refresh_details()

    def upsert(self, update: SearchAttributeUpdate[Any]) -> None:
        # Every upsert is a history event and a billed action: the attributes set in one
        # workflow task go up together, just before the workflow next waits.
        if self.batch_upserts:
            self._pending[update.key.name] = update
        else:
            workflow.upsert_search_attributes([update])

    def flush(self) -> None:
        """Before the run waits (an activity, a timer): the pending attributes go up."""
        if self._pending:
            workflow.upsert_search_attributes(list(self._pending.values()))
            self._pending.clear()

    def refresh_details(self) -> None:
        workflow.set_current_details(current_details(self.status))

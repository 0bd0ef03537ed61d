"""What a run shows while it runs: the `status` query's model, the search attributes the
UI's list filters on, and the current details the UI renders."""

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    import workflows.search_attributes as sa
    from schemas.runs import RunState, RunStatus
    from workflows.details import current_details
    from workflows.whole_input import WholeInputs

PASSING = frozenset(
    {
        RunState.RECEIVED,
        RunState.VALIDATING,
        RunState.FETCHING_USAGE,
        RunState.RATING,
        RunState.TAXING,
        RunState.ROUTING,
        RunState.POSTING,
        RunState.RECONCILING,
        RunState.DELIVERING,
        RunState.DELIVERED,
    }
)
"""States a run passes through between two calls, without waiting for a person, a payment
or a date: the `status` query and the current details show them, the UI's list need not."""


class RunView:
    def __init__(self, status: RunStatus) -> None:
        self.status = status
        self.batch_upserts = False
        """Set by the run: the attributes set in one workflow task go up in one upsert."""
        self.hold_passing = False
        """Set by the run: while the UI's list shows a state the run only passes through,
        the attributes set since stay pending until the run next waits or ends."""
        self._pending: dict[str, SearchAttributeUpdate[Any]] = {}
        self.bounded = False
        """Set by the run (the `bounded-input` patch): an approver's name longer than an
        e-mail can be is refused. Every run, with the patch or begun before it, keeps a
        person's input cut and refused attempts to the last few (schemas/bounded.py): that
        changes what it stores, not the commands it sends, so old histories replay."""
        self._listed = status.state
        """The `Q2CStatus` the UI's list shows (the starter sets `Received`)."""
        self.whole = WholeInputs()
        """Inputs kept cut, on their way whole to the audit trail."""

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
            if sa.Q2C_STATUS.name in self._pending:
                self._listed = self.status.state
            workflow.upsert_search_attributes(list(self._pending.values()))
            self._pending.clear()

    def before_call(self) -> None:
        """Before an activity: the pending attributes go up, unless the run only passes
        through (the list shows a passing state): then they wait for the next wait or the
        end, one upsert instead of one per step. A run leaving a wait (approved, paid)
        leaves it in the list at once."""
        if self.hold_passing and self._listed in PASSING:
            return
        self.flush()

    def refresh_details(self) -> None:
        workflow.set_current_details(current_details(self.status))

"""A person's input that a run keeps only cut goes whole to the audit trail, not into the
history a second time: the run schedules `keep_whole_input` with ids and a hash, and the
activity reads the input from the signal's or update's own event."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.audit import AuditActivities
    from schemas.audit import WholeInputRef
    from schemas.bounded import TEXT_CHARS, digest

WHOLE_INPUT = "whole-input"
"""Patch id: an input the run keeps cut is written whole to the audit trail by the
`keep_whole_input` activity. Asked only when something was cut, so a run that never gets
oversized input carries no marker and no activity; runs begun before it kept the cut alone."""
WHOLE_INPUT_BEFORE_BOUNDED = "whole-input-before-bounded"
"""Patch id: `whole-input` for a run begun before `bounded-input`. Such a run keeps a
person's input cut too (workflows/signals.py), and writes the whole to the audit trail the
same way; its histories recorded before this patch had nothing cut to write."""

_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=60),
    maximum_attempts=20,
)
"""The trail's database may be away for a while; the run must not wait on it for ever."""


class WholeInputs:
    """The `keep_whole_input` activities a run started, awaited before it ends (an activity
    still scheduled when a run completes is dropped)."""

    def __init__(self) -> None:
        self._started: list[workflow.ActivityHandle[None]] = []
        self.patch_id = WHOLE_INPUT
        """Set by the run: the patch its whole inputs are written under."""

    def signal(self, name: str, payload: RawValue) -> None:
        """A signal whose input was kept cut: only when it was longer than a cut keeps."""
        data = payload.payload.data
        if len(data) > TEXT_CHARS:
            self._keep(WholeInputRef(kind="signal", name=name, sha256=digest(data), size=len(data)))

    def update(self, name: str, size: int) -> None:
        """The running update, whose input (of about `size` characters) was kept cut."""
        info = workflow.current_update_info()
        if info is not None:
            self._keep(WholeInputRef(kind="update", name=name, update_id=info.id, size=size))

    def _keep(self, ref: WholeInputRef) -> None:
        if not workflow.patched(self.patch_id):
            return
        self._started.append(
            workflow.start_activity_method(
                AuditActivities.keep_whole_input,
                ref,
                start_to_close_timeout=timedelta(seconds=60),
                retry_policy=_RETRY,
            )
        )

    async def settled(self) -> None:
        """Every whole input written, or given up on with a log line: the trail is the
        audit's, and a failure to write it must not change how the run ends."""
        while self._started:
            started = self._started.pop(0)
            try:
                await started
            except ActivityError as error:
                workflow.logger.warning("whole input not kept: %s", error.cause)

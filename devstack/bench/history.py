"""Counting a run's history: events, bytes, and Temporal Cloud actions.

Counting rule (Temporal Cloud's billing definition, docs.temporal.io/cloud/actions): one
action for the workflow start, each activity scheduled (each retry would add one), each
timer started, each signal received, each update accepted, each search-attribute upsert, and
one for all the local activities of one workflow task (their markers name the task that
recorded them). Queries are actions too but leave no event; they are not counted.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

_ACTION_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_TIMER_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
}
LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The Python SDK's marker for a local activity; a patch marker (`core_patch`) is no action."""


@dataclass(frozen=True)
class HistoryCounts:
    events: int
    bytes: int
    actions: int
    actions_without_upserts: int
    by_type: dict[str, int] = field(default_factory=dict)
    activities: list[str] = field(default_factory=list)
    """Activity types scheduled on the task queue, in order."""
    local_activities: int = 0


async def count_history(handle: WorkflowHandle[Any, Any]) -> HistoryCounts:
    history = await handle.fetch_history()
    types = Counter(event.event_type for event in history.events)
    markers = [
        event.marker_recorded_event_attributes
        for event in history.events
        if event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    ]
    local_activities = len(markers)
    local_tasks = len({m.workflow_task_completed_event_id for m in markers})
    actions = sum(n for kind, n in types.items() if kind in _ACTION_EVENTS) + local_tasks
    upserts = types[EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]
    return HistoryCounts(
        events=len(history.events),
        bytes=sum(event.ByteSize() for event in history.events),
        actions=actions,
        actions_without_upserts=actions - upserts,
        by_type={
            EventType.Name(kind).removeprefix("EVENT_TYPE_").lower(): n
            for kind, n in sorted(types.items())
        },
        activities=[
            event.activity_task_scheduled_event_attributes.activity_type.name
            for event in history.events
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ],
        local_activities=local_activities,
    )

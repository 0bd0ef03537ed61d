"""Reading the recorded histories (tests/histories/**) in tests: their events and patch markers."""

import base64
import json
from pathlib import Path
from typing import Any


def history_events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads(path.read_text())["events"]
    return events


def event_patch_ids(event: dict[str, Any]) -> list[str]:
    """The patch id an event records, if it is the SDK's patch marker (never encrypted)."""
    marker = event.get("markerRecordedEventAttributes", {})
    if marker.get("markerName") != "core_patch":
        return []
    payloads = marker["details"]["patch-data"]["payloads"]
    return [str(json.loads(base64.b64decode(p["data"]))["id"]) for p in payloads]


def patch_ids(path: Path) -> list[str]:
    """Every patch id a history records, in order."""
    return [patch for event in history_events(path) for patch in event_patch_ids(event)]

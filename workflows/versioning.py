"""Worker Versioning as a run sees it: pinned to the build that started it while it works,
following the deployment's current build once it waits for weeks."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.versioning import VersioningActivities
    from schemas.versioning import FollowCurrentBuildInput
    from workflows.calls import CALL_TIMEOUT, RETRY

FOLLOW_CURRENT_BUILD = "follow-current-build"
"""Patch id: on a versioned worker, before its first wait for a person or a payment, the run
asks Temporal to move it to the current build at each later workflow task (auto-upgrade), so a
deploy takes it along instead of keeping its build alive for months. Read only when the task
runs on a versioned worker: an unversioned run records neither the marker nor the call."""


def _on_versioned_worker() -> bool:
    """Whether this workflow task runs on a worker of a deployment (replayed: whether it ran on
    one). An unversioned worker reports its build id with no deployment name."""
    version = workflow.info().get_current_deployment_version()
    return version is not None and bool(version.deployment_name)


class BuildFollower:
    def __init__(self) -> None:
        self._following = False

    async def before_long_wait(self) -> None:
        """Once per run, on a versioned worker: follow the current build from now on."""
        if self._following:
            return
        # On replay the recorded marker decides, not the version the replaying activation
        # reports: a task replayed without the version it first ran under must still take the
        # step it took then (and a run that never took it has no marker: patched is False).
        if not _on_versioned_worker() and not workflow.unsafe.is_replaying():
            return
        self._following = True
        if not workflow.patched(FOLLOW_CURRENT_BUILD):
            return  # begun on a build without this step: it stays pinned (q2c deploy advance)
        info = workflow.info()
        await workflow.execute_activity_method(
            VersioningActivities.follow_current_build,
            FollowCurrentBuildInput(workflow_id=info.workflow_id, run_id=info.run_id),
            start_to_close_timeout=CALL_TIMEOUT,
            retry_policy=RETRY,
        )

"""The worker settings `q2c bench burst --knob NAME=VALUE` may set on every worker process.

The command line names them in its help, so this module imports the settings only to check
values: `q2c --help` need not load them."""

KNOBS = {
    "max_concurrent_activities": "Q2C_MAX_CONCURRENT_ACTIVITIES",
    "max_concurrent_workflow_tasks": "Q2C_MAX_CONCURRENT_WORKFLOW_TASKS",
    "max_cached_workflows": "Q2C_MAX_CACHED_WORKFLOWS",
    "workflow_task_pollers": "Q2C_WORKFLOW_TASK_POLLERS",
    "activity_task_pollers": "Q2C_ACTIVITY_TASK_POLLERS",
    "http_max_connections": "Q2C_HTTP_MAX_CONNECTIONS",
    "sticky_schedule_to_start_seconds": "Q2C_STICKY_SCHEDULE_TO_START_SECONDS",
    "render_processes": "Q2C_RENDER_PROCESSES",
}
KNOB_HELP = (
    "Worker setting NAME=VALUE for every worker process, e.g. workflow_task_pollers=10 ("
    + ", ".join(KNOBS)
    + ")"
)


def worker_env_for(knobs: list[str]) -> dict[str, str]:
    """The workers' environment for `NAME=VALUE` items; ValueError names a bad one."""
    env = {}
    for item in knobs:
        name, sep, value = item.partition("=")
        if not sep or name not in KNOBS:
            raise ValueError(f"{item!r}: expected NAME=VALUE, NAME one of {', '.join(KNOBS)}")
        env[KNOBS[name]] = value
    from workers.settings import Settings

    # A bad value fails here, naming the setting, rather than in every worker's log.
    Settings.model_validate(dict(item.split("=", 1) for item in knobs))
    return env

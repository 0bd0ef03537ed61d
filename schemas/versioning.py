"""What a run asks of Worker Versioning (docs/deploy.md)."""

from pydantic import BaseModel


class FollowCurrentBuildInput(BaseModel):
    """The run that stops being pinned to its build and follows the deployment's current one."""

    workflow_id: str
    run_id: str

"""The Temporal Schedule that fires the monthly revenue recognition: 00:00 on the 1st of
every month in the seller's time zone, recognising the month just ended.

`sync_recognition_schedule` creates it, or updates it in place when the task queue or the
time zone changed; a run still going when the next fires is left to finish (overlap: skip).
"""

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from schemas.revenue import RecognitionRunInput
from workflows.revenue_recognition import RevenueRecognitionWorkflow

SCHEDULE_ID = "q2c-revenue-recognition"
WORKFLOW_ID = "q2c:revenue-recognition"
"""The runs' id; the Schedule appends the instant it fired."""


def recognition_schedule(*, task_queue: str, time_zone: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            RevenueRecognitionWorkflow.run,
            RecognitionRunInput(time_zone=time_zone),
            id=WORKFLOW_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    second=[ScheduleRange(0)],
                    minute=[ScheduleRange(0)],
                    hour=[ScheduleRange(0)],
                    day_of_month=[ScheduleRange(1)],
                    comment="00:00 on the 1st: recognise the month just ended",
                )
            ],
            time_zone_name=time_zone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def sync_recognition_schedule(
    client: Client, *, task_queue: str, time_zone: str, schedule_id: str = SCHEDULE_ID
) -> str:
    """Create the schedule, or bring an existing one to these settings: "created" or
    "updated"."""
    wanted = recognition_schedule(task_queue=task_queue, time_zone=time_zone)
    try:
        await client.create_schedule(schedule_id, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id).update(update)
    return "updated"

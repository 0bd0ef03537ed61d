"""A failed query's message, readable where the keys are.

With payload encryption the failure converter moves every failure's message into its encoded
attributes (workers/client.py), a query's too. That is Temporal's convention: a failure's
message may quote the run's data, and temporalio/api#503 gave a failed query's answer its
`failure` so that the message can travel encrypted while the plain one reads "Encoded
failure". A reader holding the keys decodes that `failure` from the error's details, as it
decodes any other failure; the SDK's `WorkflowQueryFailedError` keeps the plain message only,
so this reads the details off the gRPC error it was raised from. Server 1.32 with SDK 1.35
keeps no `failure` for a query handler's own error (only for one the worker's core reports),
so the message then stays encrypted, and the reader is told so rather than shown a bare
"Encoded failure"."""

from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.client import WorkflowQueryFailedError
from temporalio.converter import DataConverter
from temporalio.service import RPCError

ENCODED = "Encoded failure"
"""The plain message of a failure whose message the failure converter encoded."""


async def query_failure(converter: DataConverter, error: WorkflowQueryFailedError) -> str:
    """The query's failure message, decoded by `converter` (the client's); else the
    server's plain message, saying so when that is only the encrypted message's stand-in."""
    raised_from = error.__cause__ or error.__context__
    if isinstance(raised_from, RPCError):
        for detail in raised_from.grpc_status.details:
            found = QueryFailedFailure()
            if not (detail.Unpack(found) and found.HasField("failure")):
                continue
            try:
                decoded = await converter.decode_failure(found.failure)
            except Exception as undecodable:  # a key this reader lacks: say so, plainly
                return f"{error.message} ({type(undecodable).__name__}: {undecodable})"
            return str(decoded)
    if error.message == ENCODED:
        return f"{ENCODED} (its message travels encrypted and the answer carried none to decode)"
    return error.message

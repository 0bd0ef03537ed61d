"""A failed query's answer that carries its failure (temporalio/api#503) is decoded with the
keys: the message the workflow raised, not "Encoded failure".

The gRPC error is built here, in the shape the server sends (a `QueryFailedFailure` in the
status details), because the dev server of these tests (1.32, with SDK 1.35) keeps no failure
for a query handler's own error; the failure in it is encoded by the tests' real converter and
codec (tests/encryption_keys.py)."""

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.client import WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from ops.query_failure import query_failure
from workers.client import data_converter

MESSAGE = "status of C-1009: the customer's address cannot be read"


async def _failed_query() -> WorkflowQueryFailedError:
    failure = Failure()
    await data_converter().encode_failure(ApplicationError(MESSAGE), failure)
    assert failure.message == "Encoded failure", "the message travels encrypted"
    detail = AnyProto()
    detail.Pack(QueryFailedFailure(failure=failure))
    status = GrpcStatus(code=3, message=failure.message, details=[detail])
    try:
        try:
            raise RPCError(
                failure.message, RPCStatusCode.INVALID_ARGUMENT, status.SerializeToString()
            )
        except RPCError as error:  # as the SDK's client raises it
            raise WorkflowQueryFailedError(error.message)  # noqa: B904
    except WorkflowQueryFailedError as failed:
        return failed


async def test_a_reader_with_the_keys_reads_the_message() -> None:
    assert await query_failure(data_converter(), await _failed_query()) == MESSAGE


async def test_a_reader_without_the_keys_does_not() -> None:
    shown = await query_failure(pydantic_data_converter, await _failed_query())
    assert MESSAGE not in shown and shown.startswith("Encoded failure")


async def test_a_plain_message_is_shown_as_it_is() -> None:
    try:
        raise WorkflowQueryFailedError("query handler for 'nope' expected but not found")
    except WorkflowQueryFailedError as failed:
        shown = await query_failure(data_converter(), failed)
    assert shown == "query handler for 'nope' expected but not found"

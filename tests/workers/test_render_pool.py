"""The render pool: documents rendered and checked in processes beside the worker give the
same files and the same refusals as in the worker's own thread, and a render process that
dies (killed here with SIGKILL, as the kernel's OOM killer would) costs one retryable call,
not every delivery after it."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from facturx import get_xml_from_pdf

from activities.documents import InThread, Refused, render_or_refusal
from billing.einvoice import RenderedDocuments
from schemas.contract import Contract
from schemas.delivery import DeliverDocumentInput
from tests.billing.einvoice.builders import ISSUED, SELLER, customer, draft, line, taxed
from tests.processes import alive
from workers.render_pool import RenderPool, RenderProcessLost

pytestmark = pytest.mark.asyncio(loop_scope="module")

GERMAN = customer("DE", tax_id="DE129273398")
CONTRACT = Contract.model_validate(
    {
        "id": "C-1",
        "customer_id": "CU-DE",
        "currency": "EUR",
        "plan": "growth",
        "start_date": "2026-01-01",
    }
)


def _input(**changes: Any) -> DeliverDocumentInput:
    invoice = taxed(draft(line("100.00", line_id="L1", description="Platform fee")), GERMAN)
    data: dict[str, Any] = {
        "run_id": "q2c:C-1:cycle:2026-10-01:2026-11-01",
        "delivery_key": "q2c:C-1:cycle:2026-10-01:2026-11-01",
        "invoice": invoice,
        "erp_document_id": "RE-2026-0100",
        "posting_key": "q2c:C-1:cycle:2026-10-01:2026-11-01",
        "customer": GERMAN,
        "contract": CONTRACT,
        "issue_date": ISSUED,
    }
    return DeliverDocumentInput.model_validate(data | changes)


@pytest.fixture(scope="module")
async def pool() -> AsyncIterator[RenderPool]:
    async with RenderPool(1) as started:
        yield started


async def test_a_document_rendered_in_a_process_is_the_one_rendered_in_a_thread(
    pool: RenderPool,
) -> None:
    in_process = await pool.run(render_or_refusal, _input(), SELLER)
    in_thread = await InThread().run(render_or_refusal, _input(), SELLER)
    assert isinstance(in_process, RenderedDocuments) and isinstance(in_thread, RenderedDocuments)
    assert in_process.ubl == in_thread.ubl
    assert in_process.cii == in_thread.cii
    assert in_process.ubl_report == in_thread.ubl_report
    assert in_process.ubl_report.failed == [] and in_process.cii_report.failed == []
    # The PDF carries its creation time; the CII inside it is the one rendered.
    assert get_xml_from_pdf(in_process.pdf, check_xsd=True)[1] == (in_process.cii)
    assert pool.pids() and os.getpid() not in pool.pids()


async def test_a_refusal_comes_back_naming_the_field_and_the_rule(pool: RenderPool) -> None:
    """A line without tax has no VAT category, which EN 16931 requires (BR-CO-04)."""
    untaxed = draft(line("100.00", line_id="L1"))
    refused = await pool.run(render_or_refusal, _input(invoice=untaxed), SELLER)
    assert isinstance(refused, Refused)
    assert refused.details == {"field": "invoice.lines.0", "rule_ids": ["BR-CO-04"]}
    assert "RE-2026-0100" in refused.message and "nothing was sent" in refused.message


async def test_a_killed_render_process_fails_one_call_and_the_next_one_renders() -> None:
    async with RenderPool(1) as pool:
        [first] = pool.pids()
        call = asyncio.ensure_future(pool.run(_sleep_then_render, _input(), SELLER))
        await asyncio.sleep(0.5)  # the call is in the process
        os.kill(first, signal.SIGKILL)
        with pytest.raises(RenderProcessLost, match="died"):
            await call
        again = await pool.run(render_or_refusal, _input(), SELLER)
        assert isinstance(again, RenderedDocuments)
        assert pool.pids() and first not in pool.pids()


async def test_a_pool_needs_a_process() -> None:
    with pytest.raises(ValueError, match="processes: at least 1, got 0"):
        RenderPool(0)


def _sleep_then_render(input: DeliverDocumentInput, seller: Any) -> Any:
    import time

    time.sleep(5)
    return render_or_refusal(input, seller)


ORPHANED = """
import asyncio, os, sys
from workers.render_pool import RenderPool

async def main() -> None:
    async with RenderPool(1) as pool:
        print(*pool.pids(), flush=True)
        await asyncio.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


async def test_a_render_process_ends_when_its_worker_is_killed(tmp_path: Path) -> None:
    """SIGKILL gives the worker no time to shut its pool down; its render process must not
    stay behind (a fault drill kills workers again and again)."""
    script = tmp_path / "worker.py"
    script.write_text(ORPHANED)
    worker = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert worker.stdout is not None
        [render] = [int(pid) for pid in worker.stdout.readline().split()]
        assert Path(f"/proc/{render}").exists()
    finally:
        worker.kill()
        worker.wait()
        worker.stdout and worker.stdout.close()
    for _ in range(50):
        if not alive(render):
            break
        await asyncio.sleep(0.1)
    assert not alive(render), "the render process outlived its worker"

"""The profile summary: each py-spy sample counted once, in the first kind its stack matches."""

from devstack.bench.profile import OTHER, summarise

# Three stacks in py-spy's raw format ("frame;frame;... count"), ten samples in all.
RAW = """\
thread (1);run (asyncio/runners.py:190);render_pdf (billing/einvoice/pdf.py:60) 5
thread (1);_execute (workers/audit/store.py:70);do_commit (sqlalchemy/engine/default.py:954) 3
thread (1);select (selectors.py:468) 2

not a sample line
"""


def test_each_sample_goes_to_the_first_kind_its_stack_matches() -> None:
    summary = summarise(RAW)
    assert summary.samples == 10
    assert summary.share_by_kind == {
        "e-invoice: render, EN 16931 rules, PDF": 50.0,
        "audit trail and delivery log": 30.0,
        OTHER: 20.0,
    }
    assert summary.top_self["render_pdf (billing/einvoice/pdf.py:60)"] == 50.0


def test_an_empty_profile_has_no_shares() -> None:
    assert summarise("").samples == 0
    assert summarise("").share_by_kind == {}

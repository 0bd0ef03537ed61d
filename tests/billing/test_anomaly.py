"""The modified z-score: table-driven examples and properties."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.anomaly import explain, score_metric

D = Decimal
THRESHOLD = D("3.5")


@pytest.mark.parametrize(
    ("observed", "history", "anomalous", "score"),
    [
        # median 100, MAD 5 → spread 5/0.6745 = 7.4129…; expected 100 ± 25.9451
        ("100", ["90", "100", "110", "95", "105"], False, "0"),
        ("125", ["90", "100", "110", "95", "105"], False, "3.3725"),
        ("127", ["90", "100", "110", "95", "105"], True, "3.6423"),
        ("40", ["90", "100", "110", "95", "105"], True, "-8.094"),
        # MAD 0: the mean absolute deviation stands in (1.2533 × 20/5 = 5.0132)
        ("120", ["100", "100", "100", "100", "120"], True, "3.9895"),
        ("110", ["100", "100", "100", "100", "120"], False, "1.9947"),
        # every earlier value equal: any change is anomalous, no change is not
        ("100", ["100", "100", "100"], False, "0"),
        ("101", ["100", "100", "100"], True, None),
    ],
)
def test_scores_against_the_median_and_mad(
    observed: str, history: list[str], anomalous: bool, score: str | None
) -> None:
    result = score_metric(
        metric="invoice_total",
        observed=D(observed),
        history=[D(h) for h in history],
        threshold=THRESHOLD,
    )
    assert result.anomalous is anomalous
    assert result.score == (None if score is None else D(score))
    assert result.history == len(history)


def test_the_explanation_names_metric_range_and_observed_value() -> None:
    result = score_metric(
        metric="api_calls",
        observed=D("40"),
        history=[D(h) for h in ("90", "100", "110", "95", "105")],
        threshold=THRESHOLD,
    )
    sentence = explain(result)
    assert sentence.startswith("api_calls is 40, outside the expected range 74.0549 to 125.9451")
    assert "median 100 of the last 5" in sentence
    assert "modified z-score -8.0940" in sentence


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="seats: no history"):
        score_metric(metric="seats", observed=D(1), history=[], threshold=THRESHOLD)
    with pytest.raises(ValueError, match="threshold: must be above 0"):
        score_metric(metric="seats", observed=D(1), history=[D(1)], threshold=D(0))


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)


@given(history=st.lists(amounts, min_size=3, max_size=24), threshold=st.sampled_from(["2", "3.5"]))
def test_the_median_itself_is_never_anomalous(history: list[Decimal], threshold: str) -> None:
    result = score_metric(
        metric="m", observed=result_median(history), history=history, threshold=D(threshold)
    )
    assert not result.anomalous
    assert result.expected_low <= result.median <= result.expected_high


@given(history=st.lists(amounts, min_size=3, max_size=24), observed=amounts)
def test_anomalous_exactly_when_outside_the_expected_range(
    history: list[Decimal], observed: Decimal
) -> None:
    result = score_metric(metric="m", observed=observed, history=history, threshold=THRESHOLD)
    outside = observed < result.expected_low or observed > result.expected_high
    # The range is quantized to 4 places; only a value on its rounded edge may differ.
    edge = min(abs(observed - result.expected_low), abs(observed - result.expected_high))
    assert result.anomalous == outside or edge <= D("0.0001")


@given(
    history=st.lists(amounts, min_size=3, max_size=24),
    observed=amounts,
    shift=st.decimals(min_value=-(10**6), max_value=10**6, places=2),
)
def test_shifting_every_value_keeps_the_score(
    history: list[Decimal], observed: Decimal, shift: Decimal
) -> None:
    before = score_metric(metric="m", observed=observed, history=history, threshold=THRESHOLD)
    after = score_metric(
        metric="m",
        observed=observed + shift,
        history=[h + shift for h in history],
        threshold=THRESHOLD,
    )
    assert after.score == before.score
    assert after.anomalous == before.anomalous


def result_median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2

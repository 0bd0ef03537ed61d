"""Anomaly scoring that explains itself: the modified z-score of Iglewicz and Hoaglin.

The score of an observed value x against earlier values h is 0.6745 · (x − median(h)) / MAD(h),
with MAD the median absolute deviation. Median and MAD ignore the few odd months a mean and a
standard deviation would be dragged by. When MAD is 0 (half the history is one value) the mean
absolute deviation scaled by 1.2533 stands in; when that is 0 too, any change is anomalous.
"""

from collections.abc import Sequence
from decimal import Decimal
from statistics import median

from schemas.steps import AnomalyScore

MODEL_VERSION = "modified-z/mad-1"
MAD_SCALE = Decimal("0.6745")
"""The 0.75 quantile of the standard normal: makes MAD comparable to a standard deviation."""
MEAN_AD_SCALE = Decimal("1.2533")
"""sqrt(pi/2): the mean absolute deviation over the standard deviation of a normal sample."""
PLACES = Decimal("0.0001")


def score_metric(
    *, metric: str, observed: Decimal, history: Sequence[Decimal], threshold: Decimal
) -> AnomalyScore:
    """Score one value; `anomalous` when |score| exceeds the threshold."""
    if not history:
        raise ValueError(f"{metric}: no history to score against")
    if threshold <= 0:
        raise ValueError(f"threshold: must be above 0, got {threshold}")
    center = Decimal(median(history))
    deviations = [abs(value - center) for value in history]
    mad = Decimal(median(deviations))
    if mad > 0:
        spread = mad / MAD_SCALE
    else:
        spread = MEAN_AD_SCALE * sum(deviations, Decimal(0)) / len(deviations)
    if spread > 0:
        score: Decimal | None = ((observed - center) / spread).quantize(PLACES)
        margin = threshold * spread
        anomalous = abs(observed - center) / spread > threshold
    else:
        score = Decimal(0) if observed == center else None
        margin = Decimal(0)
        anomalous = observed != center
    return AnomalyScore(
        metric=metric,
        observed=observed,
        median=center,
        expected_low=(center - margin).quantize(PLACES),
        expected_high=(center + margin).quantize(PLACES),
        score=score,
        history=len(history),
        anomalous=anomalous,
    )


def explain(score: AnomalyScore) -> str:
    """The human sentence of an anomaly reason."""
    measure = "unbounded" if score.score is None else f"{score.score}"
    return (
        f"{score.metric} is {score.observed}, outside the expected range "
        f"{score.expected_low} to {score.expected_high} (median {score.median} of the last "
        f"{score.history}; modified z-score {measure})"
    )

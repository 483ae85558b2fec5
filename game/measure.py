"""The one percentile of the project: every p50/p95 in the game, the arena, bench, export and sweep."""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.

    q in 0..1 (0.95 for p95); None for no samples. p50 of [1, 2, 3, 4] is 2, p95 of 20 samples
    is the 19th smallest.
    """
    xs = sorted(values)
    if not xs:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside 0..1")
    rank = max(1, math.ceil(q * len(xs)))
    return xs[rank - 1]

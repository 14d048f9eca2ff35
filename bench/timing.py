"""Timing shared by the in-process benchmarks (signing, History of Services)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence


def time_calls(function: Callable[[], object], budget_seconds: float, minimum: int = 1) -> list[int]:
    """Call `function` until `budget_seconds` have passed (at least `minimum` times); each call's ns."""
    clock = time.perf_counter_ns
    budget = int(budget_seconds * 1e9)
    samples: list[int] = []
    append = samples.append
    started = clock()
    while True:
        before = clock()
        function()
        after = clock()
        append(after - before)
        if after - started >= budget and len(samples) >= minimum:
            return samples


def percentile(ordered: Sequence[int], fraction: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])

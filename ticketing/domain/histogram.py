"""Percentiles read off a histogram of whole numbers (value → how many), so that a report can
let the database count per value (GROUP BY) and never sort the individual rows.

``percentile`` is exactly PostgreSQL's ``percentile_cont`` (linear interpolation between the
two closest ranks, SQL:2003) over the same values: the work is O(distinct values), not
O(rows).  Pure: no database, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def merge(into: dict[int, int], counts: Iterable[tuple[int, int]]) -> dict[int, int]:
    for value, n in counts:
        into[value] = into.get(value, 0) + n
    return into


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` (0..1) continuous percentile of the values counted in ``histogram``;
    None when it counts nothing."""
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile fraction is between 0 and 1")
    items = sorted((v, n) for v, n in histogram.items() if n > 0)
    total = sum(n for _, n in items)
    if total == 0:
        return None
    position = (total - 1) * fraction
    below, above = math.floor(position), math.ceil(position)
    low = high = None
    seen = 0
    for value, n in items:
        seen += n  # ranks 0 .. seen-1 have been passed
        if low is None and below < seen:
            low = value
        if above < seen:
            high = value
            break
    assert low is not None and high is not None
    return low + (high - low) * (position - below)


def mean(histogram: Mapping[int, int]) -> float | None:
    total = sum(histogram.values())
    return sum(v * n for v, n in histogram.items()) / total if total else None

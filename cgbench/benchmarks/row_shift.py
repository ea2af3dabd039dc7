"""A cheap check for a translated file whose texts slid by a row against English (labels still aligned).

A translation's length follows its English source's: the log of the length ratio varies little from row to
row (a robust sigma of 0.1 to 0.25 on the paper's splits). Texts shifted by one row pair each translation
with a neighbour's English text, and the ratios spread over the whole range of English lengths (sigma 0.4 to
1.5). So when pairing row ``i`` with English row ``i + 1`` (or ``i - 1``) gives a much tighter spread than
pairing it with row ``i``, the file is shifted; the rows whose ratio is far outside that tight spread are named.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

SHIFT_RATIO = 2.0  # the given pairing's spread over a neighbouring pairing's that reads as a shift (seen: 2.5-15)
FAR_SIGMAS = 4.0  # a row this many sigmas (and 3x) away from the median ratio is far outside the spread
FAR_SHARE = 0.05  # share of far rows that is warned about even without a clear shift


def _log_ratios(texts: Sequence[str], english: Sequence[str]) -> list[float]:
    return [math.log(max(len(t), 1) / max(len(e), 1)) for t, e in zip(texts, english)]


def _spread(logs: list[float]) -> tuple[float, float]:
    """Median and robust sigma (1.4826 x the median absolute deviation)."""
    median = statistics.median(logs)
    return median, 1.4826 * statistics.median(abs(x - median) for x in logs)


def shifted_rows_warning(where: str, texts: Sequence[str], english: Sequence[str]) -> str | None:
    """A warning naming the rows of ``texts`` whose length ratio to ``english`` is far outside the split's spread,
    when the file looks shifted by a row or many rows are far out; None for a file that looks aligned."""
    if len(texts) != len(english) or len(texts) < 10:
        return None
    logs = _log_ratios(texts, english)
    median, aligned = _spread(logs)
    neighbours = {+1: _spread(_log_ratios(texts[:-1], english[1:]))[1], -1: _spread(_log_ratios(texts[1:], english))[1]}
    offset = min(neighbours, key=neighbours.get)
    tight = min(aligned, neighbours[offset])
    limit = max(FAR_SIGMAS * tight, math.log(3))
    far = [row for row, x in enumerate(logs) if abs(x - median) > limit]
    shifted = neighbours[offset] * SHIFT_RATIO < aligned
    if not shifted and len(far) <= FAR_SHARE * len(logs):
        return None
    more = f" and {len(far) - 10} more" if len(far) > 10 else ""
    message = (
        f"{where}: {len(far)} row(s) have a length ratio to English far outside the split's spread "
        f"(beyond x{math.exp(limit):.1f} of the median {math.exp(median):.2f}): rows {far[:10]}{more}"
    )
    if shifted:
        message += (
            f"; the texts look shifted by one row: row i pairs with English row i{offset:+d} far better "
            f"(length-ratio spread {neighbours[offset]:.2f} against {aligned:.2f})"
        )
    return message

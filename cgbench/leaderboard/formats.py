"""How numbers are written in every output: fixed decimals, so the same inputs always give the same bytes."""

from __future__ import annotations

REFERENCE = "en"  # the language every other one is tested against


def pct(value: float | None, missing: str = "–", digits: int = 1) -> str:
    """A fraction as a percentage.

    >>> pct(0.4693), pct(None), pct(0.5, digits=2)
    ('46.9', '–', '50.00')
    """
    return missing if value is None else f"{100 * value:.{digits}f}"


def points(value: float) -> str:
    """A difference of two fractions in percentage points, signed.

    >>> points(-0.0962)
    '-9.6'
    """
    return f"{100 * value:+.1f}"


def plus_minus(interval: list[float] | None) -> str:
    """Half the width of a 95% interval, in points: `` ±3.7``; empty without an interval.

    >>> plus_minus([0.432, 0.506]), plus_minus(None)
    (' ±3.7', '')
    """
    return f" ±{100 * (interval[1] - interval[0]) / 2:.1f}" if interval else ""


def p_text(value: float | None) -> str:
    """A p-value with three decimals.

    >>> p_text(0.0104), p_text(0.0002), p_text(None)
    ('0.010', '<0.001', '–')
    """
    return "–" if value is None else ("<0.001" if value < 0.001 else f"{value:.3f}")


def lang_order(lang: str) -> tuple[int, str]:
    """Sort key: the registry's languages in their order, then any other by code."""
    from cgbench.benchmarks import LANGUAGES

    order = list(LANGUAGES)
    return (order.index(lang) if lang in order else len(order), lang)


UP, DOWN = "▲", "▼"  # a significant gap to English: above it, below it


def interval_text(value: float, interval: list[float] | None) -> str:
    """`` ±h`` when the 95% interval is symmetric about the value to the shown decimal, else `` [lo, hi]``
    (a bootstrap interval near 0 or 100% is not); empty without an interval.

    >>> interval_text(0.5, [0.45, 0.55]), interval_text(0.969, [0.942, 0.99]), interval_text(0.5, None)
    (' ±5.0', ' [94.2, 99.0]', '')
    """
    if not interval:
        return ""
    below, above = round(100 * (value - interval[0]), 1), round(100 * (interval[1] - value), 1)
    if abs(below - above) <= 0.1:
        return plus_minus(interval)
    return f" [{pct(interval[0])}, {pct(interval[1])}]"


def direction_mark(direction: int) -> str:
    """The mark of a significant gap: ▲ above English, ▼ below, nothing without one."""
    return UP if direction > 0 else DOWN if direction < 0 else ""


def p_bound_text(value: float | None, bound: bool) -> str:
    """A p-value, written ``<`` when it is a bound (no bootstrap draw crossed 0).

    >>> p_bound_text(1 / 10001, True), p_bound_text(0.0312, False)
    ('<0.0001', '0.031')
    """
    if value is None:
        return "–"
    if bound:
        return f"<{value:.2g}" if value >= 0.001 else f"<{value:.1g}".replace("<1e-04", "<0.0001")
    return p_text(value)

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

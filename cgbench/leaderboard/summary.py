"""The terminal view of a regenerated leaderboard: the headline with tiers, and where the files went.

Numbers never wrap or shrink: under a narrow terminal the guard names wrap onto more lines instead."""

from __future__ import annotations

from pathlib import Path

from cgbench.leaderboard import Leaderboard
from cgbench.leaderboard.table import Row, short_name
from cgbench.leaderboard.text import pct, tier_text

GUARD_MIN_WIDTH = 12


def summary_table(board: Leaderboard, width: int = 120):
    """The headline table in ``width`` columns: numbers never wrap or shrink; the guard names fold onto more
    lines, and on a narrow terminal the right-most columns are left out (they are all on the page)."""
    from rich import box
    from rich.table import Table

    one_class = board.table.one_class
    headers = ["macro-\nF1", "95% CI", "vs #1\n(pts)", *(f"{short_name(b)}†\nrecall" for b in one_class)]
    headers += ["all-\ncorrect", "parse\nfail"]
    rows = [[row.label, tier_text(row), *_numbers(row, one_class)] for row in board.table.rows]
    fixed = [_width("#", [r[0] for r in rows]), _width("tier", [r[1] for r in rows])]
    numbers = [_width(h, [r[2 + i] for r in rows]) for i, h in enumerate(headers)]
    keep = len(headers)
    while keep > 1 and sum(fixed) + sum(numbers[:keep]) + GUARD_MIN_WIDTH + 3 > width:
        keep -= 1
    table = Table(title="cgbench leaderboard: macro-F1 over the sets with both classes", box=box.SIMPLE_HEAD)
    table.add_column("#", no_wrap=True, justify="right")
    table.add_column("tier", no_wrap=True, justify="right")
    table.add_column("guard", overflow="fold", min_width=GUARD_MIN_WIDTH)
    for header in headers[:keep]:
        table.add_column(header, no_wrap=True, justify="right")
    for row, cells in zip(board.table.rows, rows, strict=True):
        table.add_row(cells[0], cells[1], row.guard, *cells[2 : 2 + keep])
    if keep < len(headers):
        table.caption = f"{len(headers) - keep} more columns in a wider terminal and on the page"
    return table


def _width(header: str, cells: list[str]) -> int:
    """A column's width with its padding and the divider."""
    return max([len(line) for line in header.splitlines()] + [len(cell) for cell in cells]) + 3


def _numbers(row: Row, one_class: list[str]) -> list[str]:
    ci = row.headline_ci
    interval = f"{pct(ci[0])}–{pct(ci[1])}" if ci else "–"
    vs_leader = "–" if row.vs_leader is None else f"{100 * row.vs_leader.diff:+.1f}"
    recalls = [pct(row.one_class.get(b, {}).get("recall")) for b in one_class]
    return [pct(row.headline), interval, vs_leader, *recalls, pct(row.all_correct), pct(row.parse_fail)]


def print_summary(board: Leaderboard, out_dir: Path) -> None:
    from rich.console import Console

    console = Console()
    if board.table.rows:
        console.print(summary_table(board, console.width))
    else:
        console.print("no valid run found: the leaderboard is empty")
    page = (out_dir / "index.html").as_posix()
    console.print(f"wrote {len(board.files)} files to {out_dir.as_posix()}/ (open {page})")

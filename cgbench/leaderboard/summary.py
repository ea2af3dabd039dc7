"""The terminal view of a regenerated leaderboard: the ranking as a table, and where the files went."""

from __future__ import annotations

from pathlib import Path

from cgbench.leaderboard import Leaderboard
from cgbench.leaderboard.table import params_label
from cgbench.leaderboard.text import pct


def print_summary(board: Leaderboard, out_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="cgbench leaderboard")
    for header in ("#", "guard", "size", "run", "avg F1", "all-agree", "F1 gap", "parse fail"):
        table.add_column(header, no_wrap=header in ("guard", "run"))
    for row in board.table.rows:
        table.add_row(
            str(row.rank),
            row.guard,
            params_label(row.params_b),
            row.run_id,
            pct(row.overall),
            pct(row.all_agree),
            pct(row.f1_gap),
            pct(row.parse_fail),
        )
    console = Console()
    if board.table.rows:
        console.print(table)
    else:
        console.print("no valid run found: the leaderboard is empty")
    page = (out_dir / "index.html").as_posix()
    console.print(f"wrote {len(board.files)} files to {out_dir.as_posix()}/ (open {page})")

"""The leaderboard at the size of a real board: twenty synthetic guards with forty-character names, scored by
the harness, in the plots, the terminal and a real Chromium; and the inputs a user gets wrong."""

from __future__ import annotations

import base64
import json
import re
import shutil

import pytest
from synthetic_board import NAME_WIDTH, write_board
from test_leaderboard_browser import BROWSER, Chromium

from cgbench.harness.scoring import write_metrics, write_predictions
from cgbench.leaderboard import build_leaderboard
from cgbench.leaderboard.plots import RC, figures, text_outside
from cgbench.leaderboard.summary import summary_table

N_GUARDS = 20
COLOURED = re.compile(r"^(bars|point)-\d+$")  # one artist per guard: bars by language, scatter points
PER_BAR = ("headline-bars", "gap-bars")  # one bar per guard, in the row order


@pytest.fixture(scope="module")
def board20(tmp_path_factory):
    root = tmp_path_factory.mktemp("board20")
    names = write_board(root / "results", N_GUARDS, n_bootstrap=300)
    return build_leaderboard(root / "results", root / "leaderboard", n_bootstrap=300), root, names


def test_twenty_guards_are_ranked_with_tiers_and_references(board20):
    board, _, names = board20
    assert len(board.table.guards) == N_GUARDS and {len(name) for name in names} == {NAME_WIDTH}
    references = [row.guard for row in board.table.rows if row.reference]
    assert sorted(references) == ["ref: always-safe", "ref: always-unsafe", "ref: coin"]
    tiers = [row.tier for row in board.table.rows]
    assert tiers == sorted(tiers) and tiers[0] == 1 and len(set(tiers)) > 2  # more than one tier, in order
    assert board.table.guards[0].guard == names[-1]  # the most accurate guard leads


def _colours(figure) -> dict[str, set[str]]:
    from matplotlib.colors import to_hex

    found: dict[str, set[str]] = {}
    for artist in figure.findobj(lambda a: a.get_gid() is not None):
        gid = artist.get_gid()
        if COLOURED.match(gid):
            face = artist.get_facecolor()
            face = face[0] if getattr(face, "ndim", 1) == 2 else face
            found.setdefault(gid, set()).add(to_hex(face))
        elif gid in PER_BAR:
            found.setdefault(f"{gid}-{len([k for k in found if k.startswith(gid)])}", set()).add(
                to_hex(artist.get_facecolor())
            )
    return found


def test_no_two_guards_share_a_colour_in_a_plot(board20):
    import matplotlib

    board, _, _ = board20
    with matplotlib.rc_context(RC):
        for name, draw in figures(board.table).items():
            colours = _colours(draw())
            if not colours:
                continue  # one guard's category heatmap: one colour map, no guard colours
            assert all(len(c) == 1 for c in colours.values()), name  # one colour per guard
            flat = [next(iter(c)) for c in colours.values()]
            assert len(flat) == len(set(flat)) >= N_GUARDS, name


def test_no_text_leaves_its_figure_at_twenty_guards(board20):
    import matplotlib

    board, _, _ = board20
    with matplotlib.rc_context(RC):
        for name, draw in figures(board.table).items():
            assert text_outside(draw()) == [], name


def test_terminal_summary_keeps_the_numbers_whole_at_80_columns(board20):
    from rich.console import Console

    board, _, names = board20
    console = Console(width=80, record=True, color_system=None)
    console.print(summary_table(board, 80))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for row in board.table.rows:
        assert f" {100 * row.headline:.1f} " in text  # the headline is never cut
    assert names[0] not in text and names[0][:10] in text  # the long names fold instead


@pytest.mark.skipif(BROWSER is None, reason="no chromium binary (Debian: apt-get install chromium)")
def test_first_screen_shows_the_headline_table(board20):
    _, root, _ = board20
    browser = Chromium(BROWSER, root / "profile", root / "chromium.log")
    try:
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            browser.page(domain)
        browser.page("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        browser.page("Page.navigate", url=(root / "leaderboard" / "index.html").as_uri())
        browser.wait_for("Page.loadEventFired")
        first = browser.evaluate(
            "(() => { const t = document.querySelector('#leaderboard'); const r = t.getBoundingClientRect();"
            " const row = t.tBodies[0].rows[0].getBoundingClientRect(); return [r.top, row.bottom, innerHeight]; })()"
        )
        assert first[0] < first[2] and first[1] < first[2]  # the table and its leading row on the first screen
        assert (
            browser.evaluate("getComputedStyle(document.querySelector('#leaderboard td.guard')).position") == "sticky"
        )
        tiers = browser.evaluate("document.querySelectorAll('#leaderboard tr.tier-start').length")
        assert tiers >= 2
        widths = browser.evaluate(
            "Promise.all(Array.from(document.images).map(i => i.decode().then(() => i.naturalWidth, () => 0)))"
        )
        assert widths and all(width > 0 for width in widths)
        shot = root / "first-screen.png"
        shot.write_bytes(base64.b64decode(browser.page("Page.captureScreenshot", format="png")["data"]))
        assert shot.stat().st_size > 20_000
        assert browser.errors() == []
    finally:
        browser.close()


def test_bad_input_is_shown_correctly(tmp_path):
    """A guard run on a one-class set only, a guard that never parses, two runs of one guard and a run missing
    a language: each is on the board with what it has, none stops it."""
    results = tmp_path / "results"
    write_board(results, 3, n_bootstrap=50)  # guard-00 .. guard-02
    source = next((results / "guard-01" / "run-1").glob("predictions.jsonl"))
    rows = [json.loads(line) for line in source.read_text().splitlines()]

    def add(folder: str, guard: str, predictions: list[dict], created: str = "2026-02-01T00:00:00+00:00") -> None:
        run = results / folder
        write_predictions(run / "predictions.jsonl", predictions)
        (run / "run.json").write_text(json.dumps({"guard": guard, "run_id": run.name, "created": created}))
        write_metrics(run, n_bootstrap=50)

    add("one-class/r1", "one-class", [r for r in rows if r["benchmark"] == "synth_unsafe"])
    add("never-parses/r1", "never-parses", [{**r, "pred": None} for r in rows])
    add("no-hindi/r1", "no-hindi", [r for r in rows if r["lang"] != "hi"])
    shutil.copytree(results / "guard-02" / "run-1", results / "guard-02" / "run-0")  # an older run of guard-02
    info = json.loads((results / "guard-02" / "run-0" / "run.json").read_text())
    (results / "guard-02" / "run-0" / "run.json").write_text(json.dumps({**info, "run_id": "run-0", "created": "2020"}))
    board = build_leaderboard(results, tmp_path / "out", n_bootstrap=100)
    by_guard = {row.guard: row for row in board.table.rows}
    assert [row.run_id for row in board.table.rows if row.guard.startswith("guard-02")] == ["run-1"]  # the newest
    one_class = by_guard["one-class"]
    assert one_class.headline is None and one_class.one_class["synth_unsafe"]["recall"] > 0
    assert board.table.rows[-1].guard == "one-class"  # no headline: ranked last, its recall shown
    never = by_guard["never-parses"]
    assert never.headline == 0.0 and never.parse_fail == 1.0 and never.one_class["synth_unsafe"]["recall"] == 0.0
    assert by_guard["no-hindi"].vs_leader is not None and ("synth_chat", "hi") not in by_guard["no-hindi"].f1
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "| one-class |" in readme and "| never-parses |" in readme

"""Hostile names in results/ stay text: ``cgbench leaderboard`` on a run whose guard, model, run id, benchmark and
language keys carry markup, checked in the real headless Chromium, and in the README and LaTeX outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_leaderboard_browser import BROWSER, Chromium

pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium binary (Debian: apt-get install chromium)")

FIXTURE = Path(__file__).parent / "fixtures" / "results" / "beta-guard" / "run-a"
GUARD = '<script>window.__pwned="guard"</script>g'
MODEL = '"><img src=x onerror="window.__pwned=\'model\'">'
RUN_ID = 'r" onmouseover="window.__pwned=\'run\'" x="'
BENCHMARK = '"><svg onload="window.__pwned=\'set\'">'
LANG = '<img src=x onerror="window.__pwned=\'lang\'">'
HOSTILE = (GUARD, MODEL, RUN_ID, BENCHMARK, LANG)


def _hostile_results(root: Path) -> Path:
    metrics = json.loads((FIXTURE / "metrics.json").read_text())
    splits = metrics["splits"]
    splits[f"toxicchat/{LANG}"] = splits["toxicchat/fr"]
    splits[f"{BENCHMARK}/en"] = splits["toxicchat/en"]
    splits[f"{BENCHMARK}/{LANG}"] = splits["toxicchat/fr"]
    metrics["consistency"][BENCHMARK] = {**metrics["consistency"]["toxicchat"], "worst_lang": LANG}
    info = {**json.loads((FIXTURE / "run.json").read_text()), "guard": GUARD, "model": MODEL, "run_id": RUN_ID}
    folder = root / "results" / "hostile guard" / "run"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "run.json").write_text(json.dumps(info))
    shutil.copytree(FIXTURE, root / "results" / "beta-guard" / "run-a")
    return root / "results"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    results, out = _hostile_results(root), root / "leaderboard"
    command = [sys.executable, "-m", "cgbench.cli", "leaderboard", "--results-dir", str(results), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    browser = Chromium(BROWSER, root / "profile", root / "chromium.log")
    try:
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            browser.page(domain)
        browser.page("Emulation.setDeviceMetricsOverride", width=1400, height=1000, deviceScaleFactor=1, mobile=False)
        browser.page("Page.navigate", url=(out / "index.html").as_uri())
        browser.wait_for("Page.loadEventFired")
        yield browser, out
    finally:
        browser.close()


def test_no_script_from_the_results_runs_in_the_page(hostile):
    browser, _ = hostile
    for row in range(2):  # hovering every cell would fire an injected onmouseover
        cells = browser.evaluate(f"document.querySelectorAll('#leaderboard tbody tr')[{row}].cells.length")
        for cell in range(cells):
            browser.click(f"#leaderboard tbody tr:nth-child({row + 1}) td:nth-child({cell + 1})")
    browser.evaluate("new Promise(r => setTimeout(r, 300))")
    assert browser.evaluate("window.__pwned === undefined")
    assert browser.evaluate("document.scripts.length") == 1  # the page's own
    assert browser.evaluate("document.querySelectorAll('svg, img[src=\"x\"], [onerror], [onload], [onmouseover]')"
                            ".length") == 0
    assert not [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]


def test_the_names_show_as_text_and_the_layout_holds(hostile):
    browser, _ = hostile
    rows = browser.evaluate(
        "Array.from(document.querySelectorAll('#leaderboard tbody tr'), r => Array.from(r.cells, c => c.textContent))"
    )
    header = browser.evaluate("document.querySelectorAll('#leaderboard thead tr:last-child th').length")
    assert len(rows) == 2 and all(len(row) == header for row in rows)
    (mine,) = [row for row in rows if row[2] == GUARD]
    titles = browser.evaluate("Array.from(document.querySelectorAll('#leaderboard td[title]'), c => c.title)")
    assert f"{MODEL}, run {RUN_ID}" in titles
    ids = browser.evaluate("Array.from(document.querySelectorAll('table.sortable th[id]'), h => h.id)")
    assert f"col-f1_toxicchat_{LANG}" in ids and all(i.startswith("col-") for i in ids)
    headers = browser.evaluate("Array.from(document.querySelectorAll('table.sortable thead th'), h => h.textContent)")
    assert LANG in headers and BENCHMARK in headers
    images = browser.evaluate(
        "Promise.all(Array.from(document.images).map(i => i.decode().then(() => i.naturalWidth, () => 0)))"
    )
    assert len(images) == 8 and all(width > 0 for width in images)  # the hostile set's plot loads too
    assert browser.errors() == []


def test_readme_and_tex_carry_no_markup_from_the_results(hostile):
    _, out = hostile
    readme = (out / "README.md").read_text()
    tex = (out / "leaderboard.tex").read_text()
    for name in HOSTILE:
        assert name not in tex
        if name != RUN_ID:
            assert name not in readme
    assert f"`{RUN_ID}`" in readme  # inline code: shown as is, never read as markup
    assert "<script" not in readme and "<img" not in readme and "<svg" not in readme
    assert "&lt;script&gt;" in readme
    assert "\\textless{}script\\textgreater{}" in tex
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-.") for name in plots), plots

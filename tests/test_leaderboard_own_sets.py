"""RTP-LX (or an added set) on the leaderboard: a section of its own beside the published numbers, and never a
replacement for a guard's run of the paper's sets on the ranked board."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cgbench.benchmarks import load_split
from cgbench.harness.scoring import score_predictions
from cgbench.leaderboard import build_leaderboard
from cgbench.leaderboard.own_sets import load_published

RESULTS = Path(__file__).parent / "fixtures" / "results"
LANGS = ("en", "fr", "ar")


def _rtp_lx_run(results: Path) -> Path:
    """A newer run of gamma_guard on three RTP-LX locales (20 items each): right everywhere but Arabic."""
    source = RESULTS / "gamma_guard" / "20250515T000000Z"
    run = results / "gamma_guard" / "20990101-rtp"
    run.mkdir(parents=True)
    info = json.loads((source / "run.json").read_text(encoding="utf-8"))
    info.update(run_id=run.name, created="2099-01-01T00:00:00+00:00", sets=["rtp_lx"], langs=list(LANGS))
    predictions = [
        {**{k: getattr(item, k) for k in ("benchmark", "lang", "idx", "label")}, "score": None, "violations": []}
        | {"pred": 1 if lang == "ar" else item.label, "output": ""}
        for lang in LANGS
        for item in load_split("rtp_lx", lang)[:20]
    ]
    metrics = score_predictions(predictions, n_bootstrap=0)
    info["n_items"] = len(predictions)
    (run / "run.json").write_text(json.dumps(info), encoding="utf-8")
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    (run / "predictions.jsonl").write_text("".join(json.dumps(p) + "\n" for p in predictions), encoding="utf-8")
    return run


def test_an_rtp_lx_run_gets_its_own_section_and_leaves_the_board(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    _rtp_lx_run(results)
    board = build_leaderboard(results, tmp_path / "out")
    gamma = next(row for row in board.table.rows if row.guard == "gamma_guard")
    assert gamma.run_id == "20250515T000000Z"  # the newer RTP-LX-only run does not displace it
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## RTP-LX: a set of its own", 1)[1]
    assert "| gamma_guard | measured (20990101-rtp) |" in section
    assert "| 100.0 | – | 100.0 | – |" in section  # en, zh (not run), fr, ja (not run)
    assert (
        "| Qwen3Guard-Gen-8B | reported \\[zhao2025qwen3guard\\] | 85.0 | 92.1 | 90.6 | 90.8 | 91.3 | 83.9 |" in section
    )
    assert "may differ from the mirrored release" in section
    assert "RTP-LX: a set of its own" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_published_rtp_lx_numbers_name_their_source():
    published = load_published()["rtp_lx"]
    assert [g.guard for g in published.guards][:2] == ["Qwen3Guard-Gen-8B", "PolyGuard-Qwen-7B"]
    assert published.guards[0].f1 == {"en": 92.1, "zh": 90.6, "fr": 90.8, "ja": 91.3, "others": 83.9, "avg": 85.0}
    assert all("Qwen3Guard Technical Report" in g.citation for g in published.guards)

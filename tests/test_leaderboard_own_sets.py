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


def _all_unsafe_f1(lang: str) -> float:
    """F1 of flagging every one of the first 20 items unsafe: 2P / (1 + P), P the unsafe share."""
    share = sum(item.label for item in load_split("rtp_lx", lang)[:20]) / 20
    return 2 * share / (1 + share)


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
    measured = next(line for line in section.splitlines() if line.startswith("| gamma_guard |")).split(" | ")
    assert measured[3:6] == ["100.0", "–", f"{100 * _all_unsafe_f1('ar'):.1f}"]  # en, zh (not run), ar
    assert measured[7] == "100.0" and measured[-1] == "3 |"  # fr; three languages
    qwen = "| Qwen3Guard-8B-Gen (strict) | reported \\[zhao2025qwen3guard\\] | 85.0 | 92.1 | 90.6 | 88.4 |"
    assert qwen in section
    assert "used a larger RTP-LX release" in section
    assert "RTP-LX: a set of its own" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_published_rtp_lx_numbers_name_their_source():
    published = load_published()["rtp_lx"]
    by_guard = {g.guard: g.f1 for g in published.guards}
    assert by_guard["Qwen3Guard-8B-Gen (strict)"] == dict(
        zip(
            ("en", "zh", "ar", "es", "fr", "id", "it", "ja", "ko", "ru", "others", "avg"),
            (92.1, 90.6, 88.4, 88.9, 90.8, 75.3, 88.0, 91.3, 86.2, 91.9, 83.9, 85.0),
        )
    )
    assert by_guard["PolyGuard-Qwen-7B"]["avg"] == 80.9 and by_guard["LlamaGuard4-12B"]["ja"] == 50.2
    assert all("Qwen3Guard Technical Report" in g.citation for g in published.guards)

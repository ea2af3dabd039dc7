"""The seed mix: each source gives its quota (equal shares by default) from the mirror's training files, the summary
reports quota and draw per source, and a hub source that cannot be read names the dataset and how to get access."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cgbench.benchmarks import DataError
from cgbench.cli import app
from cgbench.models.consistentguard.seed import report_rows, sample_seed, source_quotas

OFFLINE = ["guardreasoner/aegis", "toxicchat_train"]


def test_equal_quotas_give_each_source_its_share_whatever_its_pool_size():
    items, counts = sample_seed(OFFLINE, n=21, seed=0)
    drawn = {name: sum(item.source == name for item in items) for name in OFFLINE}
    assert drawn == {"guardreasoner/aegis": 11, "toxicchat_train": 10}
    assert counts["toxicchat_train"].pool > 5 * counts["guardreasoner/aegis"].pool  # pooled, ToxicChat would dominate
    rows = {row[0]: row for row in report_rows(counts)}
    assert rows["guardreasoner/aegis"][4:6] == ("11", "11 (52%)") and rows["toxicchat_train"][4:6] == ("10", "10 (48%)")


def test_pooled_draw_and_explicit_quotas():
    items, counts = sample_seed(OFFLINE, n=40, seed=0, quotas="pool")
    assert all(c.quota is None for c in counts.values()) and report_rows(counts)[0][4] == "pooled"
    assert sum(item.source == "toxicchat_train" for item in items) > 30  # the pools' sizes decide the mix
    assert source_quotas({"toxicchat_train": 1, "guardreasoner/aegis": 5}, OFFLINE, 6) == {
        "guardreasoner/aegis": 5, "toxicchat_train": 1,
    }  # fmt: skip
    assert source_quotas("equal", ["a", "b", "c"], 1000) == {"a": 334, "b": 333, "c": 333}
    with pytest.raises(ValueError, match="sum to n=6"):
        source_quotas({"guardreasoner/aegis": 5, "toxicchat_train": 2}, OFFLINE, 6)
    with pytest.raises(ValueError, match="guardreasoner/aegis: asked for 500 seed items but only 356 remain"):
        sample_seed(OFFLINE, n=1000, seed=0, quotas={"guardreasoner/aegis": 500, "toxicchat_train": 500})


def test_a_gated_hub_source_that_cannot_be_read_names_the_dataset_and_how_to_get_access():
    # the tests run with HF_DATASETS_OFFLINE=1: the hub cannot be reached, as without a token for a gated dataset
    with pytest.raises(DataError, match=r"hub/wildguard|allenai/wildguardmix") as caught:
        sample_seed(["guardreasoner/aegis", "hub/wildguard"], n=4)
    message = str(caught.value)
    assert "allenai/wildguardmix" in message and "gated" in message and "huggingface-cli login" in message
    assert "https://huggingface.co/datasets/allenai/wildguardmix" in message
    result = CliRunner().invoke(app, ["train", "seed", "--source", "hub/wildguard", "--n", "4", "--output", "x.jsonl"])
    assert result.exit_code == 2 and "allenai/wildguardmix" in result.output

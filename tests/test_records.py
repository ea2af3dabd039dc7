"""The trainer's JSONL files: a bad line gives one error naming the file, row and field."""

from __future__ import annotations

import pytest

from cgbench.models.consistentguard.cao import read_pairs
from cgbench.models.consistentguard.distill import read_distilled


def test_distilled_rows_are_read_and_bad_lines_are_named(tmp_path):
    path = tmp_path / "distilled.jsonl"
    path.write_text('{"prompt": "p", "completion": "c", "label": 1}\n\n{"prompt": "p", "label": 0}\n')
    with pytest.raises(ValueError, match=r"distilled.jsonl: row 2: field 'completion' is missing"):
        read_distilled(path)
    path.write_text('{"prompt": "p", "completion": "c", "label": 1}\n{"prompt": "p", "compl')
    with pytest.raises(ValueError, match=r"distilled.jsonl: row 1: invalid JSON"):
        read_distilled(path)
    path.write_text('{"prompt": "p", "completion": "c", "label": 1}\n')
    assert read_distilled(path) == [{"prompt": "p", "completion": "c", "label": 1}]


def test_pairs_need_every_column(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('["not", "an", "object"]\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl: row 0: expected a JSON object, got list"):
        read_pairs(path)
    path.write_text('{"prompt": "p", "chosen": "c", "rejected": "r", "anchor_prompt": "a"}\n')
    with pytest.raises(ValueError, match=r"pairs.jsonl: row 0: field 'anchor_completion' is missing"):
        read_pairs(path)

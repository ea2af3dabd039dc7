"""Real data parallel: SFT, GRPO and CAO (+ MLC, gradient checkpointing) on two CPU processes (DDP over gloo).

``tests/ddp_stages.py`` trains each stage two steps with the same global batch, once in one process and once in two
under ``accelerate launch --multi_gpu --num_processes 2`` with ``use_cpu`` (accelerate 1.16's ``--cpu`` with several
processes needs mpirun, and otherwise starts one). The two runs must agree on every logged loss, every gradient norm
(taken after DDP's all-reduce) and the trained parameters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_data  # needs no data mirror

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tests" / "ddp_stages.py"
STAGES = ("sft", "grpo", "cao")


def _launch(model: Path, out: Path, processes: int) -> None:
    out.mkdir()
    mode = ["--multi_gpu", "--num_processes", "2"] if processes == 2 else ["--cpu", "--num_processes", "1"]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", *mode, "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT), str(model), str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1", "TRL_EXPERIMENTAL_SILENCE": "1"}  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    sys.path.insert(0, str(SCRIPT.parent))
    from ddp_stages import ANCHOR, CAO_ROWS, SFT_ROWS

    from cgbench.models.consistentguard.tiny import build_tiny_model

    root = tmp_path_factory.mktemp("ddp")
    texts = [v for r in SFT_ROWS + CAO_ROWS for v in r.values() if isinstance(v, str)] + list(ANCHOR.values())
    model = build_tiny_model(root / "model", texts)
    _launch(model, root / "one", 1)
    _launch(model, root / "two", 2)
    return root


def _change(params: dict) -> tuple[float, dict[str, torch.Tensor]]:
    after = params["after"]
    return sum(((after[n] - params["before"][n]) ** 2).sum() for n in after).sqrt().item(), after


@pytest.mark.parametrize("stage", STAGES)
def test_two_processes_match_one(runs, stage):
    one, two = (json.loads((runs / run / f"{stage}.json").read_text()) for run in ("one", "two"))
    assert (one["world"], two["world"]) == (1, 2)
    assert two["wrapper"] == "DistributedDataParallel"  # really DDP, not two independent runs
    assert len(one["log"]) == len(two["log"]) == 2
    for a, b in zip(one["log"], two["log"]):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-4, abs=1e-6)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
        for part in ("dpo_loss", "anchor_kl", "mlc"):  # CAO's parts, where logged
            assert (part in a) == (part in b)
            if part in a:
                assert b[part] == pytest.approx(a[part], rel=1e-4)
    change_one, after_one = _change(torch.load(runs / "one" / f"{stage}.pt"))
    change_two, after_two = _change(torch.load(runs / "two" / f"{stage}.pt"))
    assert change_one > 0.1 and change_two == pytest.approx(change_one, rel=1e-4)
    apart = sum(((after_one[n] - after_two[n]) ** 2).sum() for n in after_one).sqrt().item()
    assert apart < 1e-3 * change_one


def test_cao_ran_its_mlc_step_and_its_off_step_under_ddp(runs):
    two = json.loads((runs / "two" / "cao.json").read_text())
    assert ["mlc" in entry for entry in two["log"]] == [True, False]  # mlc_every 2: the head's zero-gradient step too

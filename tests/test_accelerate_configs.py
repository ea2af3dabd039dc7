"""The shipped ``configs/accelerate/*.yaml``: accelerate's own launcher parses each, and ``accelerate launch`` builds
cgbench's trainers on CPU with them.

On CPU: the ZeRO-2 config builds the SFT trainer with DeepSpeed really on (DeepSpeed's CPU accelerator); the trainers
with a reference model (GRPO, CAO) initialise DeepSpeed for it at build time, which does not finish on the CPU
accelerator, nor does loading under ZeRO-3, so those are parsed only here. accelerate applies FSDP on accelerators
only: with the FSDP config every trainer is launched and built, without sharding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_data  # needs no data mirror

pytest.importorskip("accelerate")

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "accelerate"
EXPECTED = {  # file -> (DeepSpeed on, ZeRO stage, FSDP on)
    "deepspeed_zero2.yaml": (True, 2, False),
    "deepspeed_zero3.yaml": (True, 3, False),
    "deepspeed_zero3_offload.yaml": (True, 3, False),
    "fsdp.yaml": (False, None, True),
}


def test_every_shipped_config_is_listed():
    assert sorted(p.name for p in CONFIGS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_accelerate_parses_the_config(name):
    from accelerate.commands.config.config_args import load_config_from_file
    from accelerate.commands.launch import _validate_launch_command, launch_command_parser

    args = launch_command_parser().parse_args(["--config_file", str(CONFIGS / name), "train.py"])
    args, _, _ = _validate_launch_command(args)
    deepspeed, stage, fsdp = EXPECTED[name]
    assert (args.use_deepspeed, args.use_fsdp, args.mixed_precision) == (deepspeed, fsdp, "bf16")
    assert getattr(args, "zero_stage", None) == stage
    assert load_config_from_file(str(CONFIGS / name)).num_processes == 2
    if deepspeed:  # the optimizer offload to CPU only in the config named for it
        offload = load_config_from_file(str(CONFIGS / name)).deepspeed_config["offload_optimizer_device"]
        assert offload == ("cpu" if "offload" in name else "none")


def _build(config: str, tmp_path: Path, *stages: str) -> dict:
    from cgbench.models.consistentguard.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "model")
    out = tmp_path / "built.json"
    script = REPO / "tests" / "accelerate_build.py"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(CONFIGS / config),
           "--num_processes", "1", str(script), str(model), str(out), *stages]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "DS_ACCELERATOR": "cpu", "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}  # fmt: skip
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return json.loads(out.read_text())


def test_deepspeed_zero2_config_builds_the_sft_trainer_with_deepspeed_on_cpu(tmp_path):
    pytest.importorskip("deepspeed")
    built = _build("deepspeed_zero2.yaml", tmp_path, "sft")
    assert built == {"sft": {"distributed_type": "DistributedType.DEEPSPEED", "deepspeed": True, "fsdp": False}}


def test_fsdp_config_launches_and_builds_every_trainer_on_cpu(tmp_path):
    built = _build("fsdp.yaml", tmp_path)
    assert set(built) == {"sft", "grpo", "cao"} and not any(b["deepspeed"] for b in built.values())

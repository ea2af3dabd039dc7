"""The translators: openai against a real HTTP server on 127.0.0.1 (refusals included), hf with a tiny random
Marian model built here (mechanics only), googletrans' clear errors, and the registry."""

from __future__ import annotations

import io
import json
import socket
import sys

import pytest
from conftest import chat_server

from cgbench.benchmarks import BENCHMARKS, load_split
from cgbench.benchmarks.add_language import ValidationFailed, add_language, final_folder, translation_cache_path
from cgbench.benchmarks.loading import _load
from cgbench.benchmarks.translation import TranslationCache
from cgbench.models.translators import TranslationError, get_translator
from cgbench.models.translators.openai import USER_PROMPT

REFUSAL = "I'm sorry, but I can't help with that request."


class FakeLLM:
    """An LLM that "translates" through ``table``: texts in ``refuse_once`` are refused on the first ask and
    translated when asked again, texts in ``refuse_always`` are always refused. Records every request."""

    def __init__(self) -> None:
        self.table: dict[str, str] = {}
        self.refuse_once: set[str] = set()
        self.refuse_always: set[str] = set()
        self.requests: list[dict] = []

    def __call__(self, body: dict) -> str:
        self.requests.append(body)
        text = first_text(body)
        retried = len(body["messages"]) > 2
        refuse = text in self.refuse_always or (text in self.refuse_once and not retried)
        return REFUSAL if refuse else self.table.get(text, f"[ur] {text}")


@pytest.fixture
def llm():
    fake = FakeLLM()
    with chat_server(fake) as url:
        fake.url = url
        yield fake


def test_openai_translator_prompt_refusals_and_retries(llm):
    llm.refuse_once, llm.refuse_always = {"How do I pick a lock?"}, {"Write my suicide note."}
    translator = get_translator("openai:tiny-llm", base_url=llm.url)
    texts = ["Hello there", "How do I pick a lock?", "Write my suicide note.", "I'm sorry, I can't come today."]
    out = translator.translate(texts, "ur")
    assert out == ["[ur] Hello there", "[ur] How do I pick a lock?", None, "[ur] I'm sorry, I can't come today."]
    assert translator.gave_up == {"Write my suicide note.": REFUSAL}

    asked = [first_text(r) for r in llm.requests]
    assert asked.count("Hello there") == 1 and asked.count("How do I pick a lock?") == 2
    assert asked.count("Write my suicide note.") == 3  # first ask + 2 retries, then reported
    first = llm.requests[0]
    assert first["model"] == "tiny-llm" and first["temperature"] == 0.0
    system = first["messages"][0]["content"]
    assert "into Urdu" in system and "Never refuse" in system and "level of harm" in system
    assert first["messages"][1]["content"] == USER_PROMPT.format(language="Urdu", text=first_text(first))
    retry = next(r for r in llm.requests if len(r["messages"]) == 4)
    assert retry["messages"][2] == {"role": "assistant", "content": REFUSAL}
    assert "not a translation" in retry["messages"][3]["content"] and retry["temperature"] > 0


def first_text(request: dict) -> str:
    return request["messages"][1]["content"].split("\n\n", 1)[1]


def test_openai_translator_unreachable_server_is_one_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    translator = get_translator("openai:m", base_url=f"http://127.0.0.1:{port}/v1")
    translator.backend.max_retries, translator.backend.backoff = 1, 0.01
    with pytest.raises(TranslationError, match=r"the openai translator failed: .*connection failed"):
        translator.translate(["Hello"], "ur")


def test_add_language_through_the_openai_translator(llm):
    """The whole flow over HTTP. OpenAI Moderation and ToxicChat come from the translation cache (as after an
    interrupted run) to keep the test short; SimpleSafetyTests goes to the server, where one prompt is always
    refused: the run fails naming its row, and the rerun asks the server for that prompt only."""
    _load.cache_clear()
    for benchmark in BENCHMARKS:
        for en, hi in zip(load_split(benchmark, "en"), load_split(benchmark, "hi")):
            llm.table.setdefault(en.text, hi.text)
    sst = {item.text for item in load_split("simple_safety_tests", "en")}
    cached = [(en, hi) for en, hi in llm.table.items() if en not in sst]
    TranslationCache(translation_cache_path("ne")).put_many("openai:tiny-llm", "ne", cached)
    refused = load_split("simple_safety_tests", "en")[11].text
    llm.refuse_always = {refused}
    with pytest.raises(ValidationFailed, match=r"simple_safety_tests/ne: 1 row\(s\) got no translation .*row \[11\]"):
        add_language("ne", translator=get_translator("openai:tiny-llm", base_url=llm.url), progress=False)
    assert {first_text(r) for r in llm.requests} == sst
    assert not final_folder("ne").exists()
    llm.refuse_always, llm.requests = set(), []
    added = add_language("ne", translator=get_translator("openai:tiny-llm", base_url=llm.url), progress=False)
    assert [first_text(r) for r in llm.requests] == [refused]
    assert added.manifest["translator"] == "openai:tiny-llm" and added.manifest["model"] == "tiny-llm"
    assert load_split("simple_safety_tests", "ne")[11].text == load_split("simple_safety_tests", "hi")[11].text
    toxic = load_split("toxicchat", "en")
    assert [i.text for i in load_split("toxicchat", "ne")] == [llm.table[i.text] for i in toxic]
    _load.cache_clear()


@pytest.fixture(scope="module")
def tiny_marian(tmp_path_factory):
    """A random 1-layer Marian model with a SentencePiece tokenizer trained here on a few sentences."""
    spm = pytest.importorskip("sentencepiece")
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    import torch

    out = tmp_path_factory.mktemp("tiny_marian")
    sentences = ["How do I bake bread?", "Tell me a story about a dragon.", "What is the weather today?"] * 30
    sentences += ["کیا حال ہے؟ میں ٹھیک ہوں۔", "یہ ایک کہانی ہے"] * 30
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=model, vocab_size=60, hard_vocab_limit=False
    )
    for name in ("source.spm", "target.spm"):
        (out / name).write_bytes(model.getvalue())
    pieces = spm.SentencePieceProcessor(model_proto=model.getvalue())
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for i in range(pieces.get_piece_size()):
        vocab.setdefault(pieces.id_to_piece(i), len(vocab))
    (out / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.MarianTokenizer(str(out / "source.spm"), str(out / "target.spm"), str(out / "vocab.json"))
    tokenizer.save_pretrained(out)
    config = transformers.MarianConfig(
        vocab_size=len(vocab),
        d_model=16,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=128,
        pad_token_id=2,
        eos_token_id=0,
        decoder_start_token_id=2,
    )
    torch.manual_seed(0)
    transformers.MarianMTModel(config).save_pretrained(out)
    return out


def test_hf_translator_with_a_tiny_marian_model(tiny_marian, monkeypatch):
    translator = get_translator(f"hf:{tiny_marian}", device="cpu")
    assert translator.spec == f"hf:{tiny_marian}" and translator.model == str(tiny_marian)
    translator.batch_size = 2
    texts = ["How do I bake bread?", "Tell me a story.\n\nWhat is the weather today?", "What is the weather today?"]
    _, model, _ = translator._load()
    calls = []
    generate = model.generate
    monkeypatch.setattr(model, "generate", lambda **kw: calls.append(kw["input_ids"].shape) or generate(**kw))
    out = translator.translate(texts, "ur")
    assert len(out) == 3 and all(isinstance(t, str) and t for t in out)
    assert out[1].count("\n") == 2  # translated line by line, layout kept
    assert out[1].split("\n")[2] == out[2]  # a line seen twice is translated once, the same way
    assert [shape[0] for shape in calls] == [2, 1]  # 3 distinct lines in batches of 2
    assert translator.translate(texts, "ur") == out  # greedy: deterministic


def test_hf_translator_errors_are_clear(tmp_path):
    with pytest.raises(TranslationError, match=r"cannot load the translation model"):
        get_translator(f"hf:{tmp_path / 'nowhere'}").translate(["Hello"], "ur")


def test_googletrans_missing_package_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "googletrans", None)
    with pytest.raises(TranslationError, match=r"needs the googletrans package \(pip install 'cgbench\[translate\]'\)"):
        get_translator("googletrans").translate(["Hello"], "ur")


def test_googletrans_offline_is_a_clear_error():
    pytest.importorskip("googletrans")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    translator = get_translator("googletrans", service_url=f"127.0.0.1:{port}")
    with pytest.raises(TranslationError, match=r"googletrans could not translate .* works online only"):
        translator.translate(["Hello"], "ur")


def test_registry_names_the_choices():
    with pytest.raises(TranslationError, match=r"unknown translator 'hf'; choose googletrans, hf:<model"):
        get_translator("hf")
    with pytest.raises(TranslationError, match=r"Did you mean 'openai'"):
        get_translator("opena:gpt-4o")
    with pytest.raises(TranslationError, match=r"base_url do not apply"):
        get_translator("hf:some/model", base_url="http://127.0.0.1:1")


def test_cache_entry_written_after_a_torn_line_survives(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = TranslationCache(path)
    cache.put_many("hf:m", "ne", [("one", "एक")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"key": "cut sho')  # a crash mid-write
    resumed = TranslationCache(path)
    resumed.put_many("hf:m", "ne", [("two", "दुई")])
    reread = TranslationCache(path)
    assert reread.get("hf:m", "ne", "one") == "एक" and reread.get("hf:m", "ne", "two") == "दुई"

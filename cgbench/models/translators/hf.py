"""Seq2seq machine translation with transformers: NLLB, M2M100 and Marian (OPUS-MT) models, by id or path."""

from __future__ import annotations

from collections.abc import Sequence

from cgbench.benchmarks.translation import TranslationError

# ISO 639-1 -> FLORES-200 code, the language codes of NLLB
NLLB_CODES = {
    "am": "amh_Ethi", "ar": "arb_Arab", "as": "asm_Beng", "bg": "bul_Cyrl", "bn": "ben_Beng", "cs": "ces_Latn",
    "da": "dan_Latn", "de": "deu_Latn", "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "fa": "pes_Arab",
    "fi": "fin_Latn", "fr": "fra_Latn", "gu": "guj_Gujr", "ha": "hau_Latn", "he": "heb_Hebr", "hi": "hin_Deva",
    "hu": "hun_Latn", "hy": "hye_Armn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "ka": "kat_Geor",
    "km": "khm_Khmr", "kn": "kan_Knda", "ko": "kor_Hang", "lo": "lao_Laoo", "ml": "mal_Mlym", "mr": "mar_Deva",
    "ms": "zsm_Latn", "my": "mya_Mymr", "ne": "npi_Deva", "nl": "nld_Latn", "or": "ory_Orya", "pa": "pan_Guru",
    "pl": "pol_Latn", "ps": "pbt_Arab", "pt": "por_Latn", "ro": "ron_Latn", "ru": "rus_Cyrl", "si": "sin_Sinh",
    "sv": "swe_Latn", "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai", "tl": "tgl_Latn",
    "tr": "tur_Latn", "uk": "ukr_Cyrl", "ur": "urd_Arab", "vi": "vie_Latn", "yo": "yor_Latn", "zh": "zho_Hans",
}  # fmt: skip


class HFTranslator:
    """Batched greedy (or beam) translation, line by line so that long prompts keep their layout."""

    batch_size = 16

    def __init__(
        self,
        model: str,
        *,
        target_code: str | None = None,
        device: str | None = None,
        num_beams: int = 1,
        max_input_tokens: int = 512,
    ) -> None:
        self.model = model
        self.spec = f"hf:{model}"
        self.target_code = target_code
        self.device = device
        self.num_beams = num_beams
        self.max_input_tokens = max_input_tokens
        self._loaded = None

    def _load(self):
        if self._loaded is None:
            try:
                import torch
                from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
            except ImportError as exc:
                raise TranslationError(
                    "the hf translator needs torch and transformers: pip install 'cgbench[hf]'"
                ) from exc
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.model)
                model = AutoModelForSeq2SeqLM.from_pretrained(self.model)
            except (OSError, ValueError) as exc:
                raise TranslationError(f"cannot load the translation model {self.model!r}: {exc}") from exc
            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._loaded = (tokenizer, model.to(device).eval(), device)
        return self._loaded

    def _generation_setup(self, tokenizer, model, target: str) -> tuple[str, dict]:
        """(prefix for every input, extra generate() arguments) for the model family."""
        family = model.config.model_type
        if family == "marian":  # one model per pair; multi-target OPUS models take a >>xxx<< token
            return (f"{self.target_code} " if self.target_code else ""), {}
        if hasattr(tokenizer, "lang_code_to_id") or type(tokenizer).__name__.startswith("Nllb"):
            code, tokenizer.src_lang = self.target_code or NLLB_CODES.get(target), "eng_Latn"
        elif hasattr(tokenizer, "get_lang_id"):  # M2M100
            code, tokenizer.src_lang = self.target_code or target, "en"
        else:
            return (f"{self.target_code} " if self.target_code else ""), {}
        token_id = tokenizer.convert_tokens_to_ids(code) if code else None
        if code is None or token_id in (None, tokenizer.unk_token_id):
            raise TranslationError(
                f"{self.model} has no language code for {target!r}; pass the model's own code with --target-code"
            )
        return "", {"forced_bos_token_id": token_id}

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        import torch

        tokenizer, model, device = self._load()
        prefix, extra = self._generation_setup(tokenizer, model, target)
        lines = [text.split("\n") for text in texts]
        todo = sorted({line.strip() for parts in lines for line in parts if line.strip()}, key=len)
        done: dict[str, str] = {}
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            batch = tokenizer(
                [prefix + line for line in chunk],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_input_tokens,
            ).to(device)
            budget = int(batch["input_ids"].shape[1] * 2 + 16)
            with torch.inference_mode():
                output = model.generate(
                    **batch, num_beams=self.num_beams, do_sample=False, max_new_tokens=budget, **extra
                )
            done.update(zip(chunk, tokenizer.batch_decode(output, skip_special_tokens=True)))
        return ["\n".join(done.get(line.strip(), line) for line in parts) for parts in lines]

"""TRL's ``GRPOTrainer`` with the prompt limit of the released run.

The released ``grpo_train.py`` ran TRL 0.14, whose ``max_prompt_length`` (1,024 there) kept the last N prompt tokens
(``R1_components/grpo_trainer.py``: ``prompt_inputs["input_ids"][:, -max_prompt_length:]``). TRL 1.x dropped the
field, so the one overridden hook, ``_tokenize_prompts``, cuts the token ids the same way before generation.
"""

from __future__ import annotations

from trl import GRPOTrainer


class GRPOTrainerWithPromptLimit(GRPOTrainer):
    """``GRPOTrainer`` that keeps only the last ``max_prompt_length`` tokens of every prompt (None: no limit)."""

    def __init__(self, *args, max_prompt_length: int | None = None, **kwargs):
        if max_prompt_length is not None and max_prompt_length < 1:
            raise ValueError(f"max_prompt_length must be positive or None, got {max_prompt_length}")
        self.max_prompt_length = max_prompt_length
        super().__init__(*args, **kwargs)

    def _tokenize_prompts(self, prompts):
        prompt_ids, images, multimodal_fields = super()._tokenize_prompts(prompts)
        if self.max_prompt_length is not None:
            prompt_ids = [list(ids)[-self.max_prompt_length :] for ids in prompt_ids]
        return prompt_ids, images, multimodal_fields

"""A wrapper around a local Hugging Face / sentence-transformers model directory."""

from __future__ import annotations

from pathlib import Path

import torch

from kgtool.encoders.base import Encoder
from kgtool.encoders.pooling import masked_pool
from kgtool.errors import ConfigError
from kgtool.optional import import_optional


class PretrainedTextEncoder(Encoder):
    """A pre-trained Transformer read from ``model_path`` with ``transformers`` (an optional
    package), mean-pooled over real tokens: the pooling sentence-transformers models use by
    default, so their directories load too. Nothing is downloaded (``local_files_only``).
    Call :meth:`freeze` to use it as a fixed feature extractor.

    Shapes:
        - input: a list of n texts (it tokenizes them itself)
        - output: (n, out_dim) with ``out_dim`` the model's hidden size
    """

    def __init__(self, model_path: str, max_length: int = 128) -> None:
        super().__init__(model_path=model_path, max_length=max_length)
        transformers = import_optional("transformers", "PretrainedTextEncoder", "transformers")
        if not Path(model_path).is_dir():
            raise ConfigError(f"PretrainedTextEncoder: model directory {model_path!r} does not exist")
        self.max_length = max_length
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        self.model = transformers.AutoModel.from_pretrained(model_path, local_files_only=True)
        self.out_dim = self.model.config.hidden_size

    def forward(self, texts: list[str]) -> torch.Tensor:
        device = next(self.model.parameters()).device
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(device)
        hidden = self.model(**batch).last_hidden_state
        return masked_pool(hidden, batch["attention_mask"].bool(), "mean")

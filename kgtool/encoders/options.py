"""The encoders' options (the ``encoders`` section) and the checks of their values.

Names come from the registry (:data:`~kgtool.encoders.registry.TEXT_ENCODERS`,
:data:`~kgtool.encoders.registry.IMAGE_ENCODERS`) and :data:`~kgtool.encoders.fusion.FUSIONS`.
Like every encoder module, it imports nothing of kgtool's run: the encoders stand alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

from kgtool.encoders.fusion import FUSIONS
from kgtool.encoders.registry import IMAGE_ENCODERS, TEXT_ENCODERS
from kgtool.errors import ConfigError, quoted
from kgtool.options import at_least_one, choice

TEXT_ENCODER_NAMES = ("none", *TEXT_ENCODERS)
IMAGE_ENCODER_NAMES = ("none", *IMAGE_ENCODERS)


@dataclass
class EncodersConfig:
    """Entity/node representations from text and images (kgtool.encoders.multimodal_from_files)."""

    text: Optional[str] = None  # entity<TAB>text file (plain or .gz); ids: entity labels, or node numbers 0..n-1
    text_encoder: str = "none"  # none | bow (mean of token embeddings) | lstm | gru | transformer | pretrained
    text_model: Optional[str] = None  # pretrained: a local Hugging Face / sentence-transformers folder
    max_tokens: int = 32  # tokens (words, their char n-grams; pretrained: subword tokens) kept of each text
    max_vocab: int = 50000  # most frequent tokens the tokenizer keeps; others are <unk>
    char_ngrams: int = 0  # n > 0: each word is followed by its character n-grams (fastText), so stems match
    images: Optional[str] = None  # folder of <id>.png/<id>.npy, or an .npy array (num_items, [c,] h, w) in id order
    image_encoder: str = "none"  # none | cnn | vit | torchvision | diffusion | vae
    dim: int = 64  # width of each encoder's output and of the structural embedding (GNNs: of the fused x too)
    layers: int = 1  # Transformer/ViT blocks
    structural: bool = True  # also learn a per-item embedding; false: items are known by their text/images only
    fusion: str = "concat"  # concat (project [s; m_1; ...]) | gated (per-dimension softmax gates) | residual (s + W m)
    freeze: bool = False  # keep encoder weights fixed (pretrained); fusion and placeholders still learn
    # the dataset's own entity features (a PyG graph's node x; HeteroData: each node type's in its own
    # columns) as a modality, through a linear map (KGE models; GNNs take node features as x anyway)
    features: bool = False
    # encoders with an objective of their own (diffusion: denoising; vae: the ELBO) train on it for
    # this many epochs of the items' images before the main training (logged as phase: pretrain); 0: not
    pretrain_epochs: int = 10

    @property
    def enabled(self) -> bool:
        return self.text_encoder != "none" or self.image_encoder != "none" or self.features

    def representation_options(self) -> dict:
        """The keyword arguments of :func:`kgtool.encoders.multimodal_from_files` from files: every
        option but the training loop's (``pretrain_epochs``) and the dataset's (``features``)."""
        options = dataclasses.asdict(self)
        del options["pretrain_epochs"], options["features"]  # the features come from the dataset
        return options

    def check_values(self) -> None:
        """Each option on its own: choices and ranges."""
        choice("encoders.text_encoder", self.text_encoder, TEXT_ENCODER_NAMES)
        choice("encoders.image_encoder", self.image_encoder, IMAGE_ENCODER_NAMES)
        choice("encoders.fusion", self.fusion, FUSIONS)
        at_least_one("encoders", max_tokens=self.max_tokens, max_vocab=self.max_vocab, dim=self.dim, layers=self.layers)
        if self.pretrain_epochs < 0:
            raise ConfigError(f"encoders.pretrain_epochs must be 0 (no pretraining) or more, "
                              f"got {quoted(self.pretrain_epochs)}")
        if self.char_ngrams < 0:
            raise ConfigError(f"encoders.char_ngrams must be 0 (words only) or an n-gram length, "
                              f"got {quoted(self.char_ngrams)}")

    def check_combinations(self) -> None:
        """The combinations within the section that would ignore an option."""
        for path, encoder in [("text", "text_encoder"), ("images", "image_encoder")]:
            if getattr(self, path) is not None and getattr(self, encoder) == "none":
                raise ConfigError(f"encoders.{path} is set but encoders.{encoder} is none; choose an encoder")
        if self.fusion == "residual" and not self.structural:
            raise ConfigError("encoders.fusion=residual adds the modalities to the structural embedding: "
                              "it needs encoders.structural=true")

"""A MultimodalEmbedding of named items (entities, nodes) built from a text file and an image source.

:func:`multimodal_from_files` takes the fields of ``kgtool.encoders.options.EncodersConfig`` as keyword
arguments, so that this package needs nothing of kgtool but its errors. Everything it builds is a
function of the files and the arguments: the tokenizer's vocabulary comes out the same each time,
so a checkpoint's weights fit the module built again from the same config.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from kgtool.encoders.fusion import MultimodalEmbedding
from kgtool.encoders.readers import (
    align_images,
    align_texts,
    count_missing,
    images_from_array,
    read_entity_text,
    read_image_folder,
)
from kgtool.encoders.registry import IMAGE_ENCODERS, TEXT_ENCODERS, build_encoder, known_encoder
from kgtool.encoders.tokenizer import WordTokenizer
from kgtool.errors import ConfigError, DataError

log = logging.getLogger("kgtool")


def multimodal_from_files(
    names: Sequence[str],
    out_dim: int,
    *,
    text: Optional[str] = None,
    text_encoder: str = "none",
    text_model: Optional[str] = None,
    max_tokens: int = 32,
    max_vocab: int = 50000,
    char_ngrams: int = 0,
    images: Optional[str] = None,
    image_encoder: str = "none",
    dim: int = 64,
    layers: int = 1,
    structural: bool = True,
    fusion: str = "concat",
    freeze: bool = False,
    features: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> MultimodalEmbedding:
    """The representation of the items ``names`` (in id order) from their text and images.

    :param names: item labels in id order; the text file's and images' ids must be among them
    :param out_dim: width of the fused representation
    :param text: ``entity<TAB>text`` file (plain or ``.gz``), read by :func:`read_entity_text`
    :param char_ngrams: the tokenizer adds each word's character n-grams of this length (0: none)
    :param images: a folder of ``<name>.png`` / ``<name>.npy`` files, or an ``.npy`` array of
        shape (len(names), [channels,] h, w) in id order
    :param dim: width of each modality encoder's output and of the structural embedding (with
        ``fusion="residual"`` the structural embedding has the output's width)
    :param layers: Transformer/ViT blocks
    :param structural: keep a learned per-item embedding beside the modalities
    :param freeze: fixed encoder weights (e.g. a pretrained model); fusion and placeholders learn
    :param features: the items' own feature vectors ``(len(names), f)`` and which items have them
        ``(len(names),)`` bool (e.g. a PyG HeteroData's node ``x``), a modality through a linear map
    :raises DataError: for unknown ids in the text file or images, or an unreadable image
    """
    encoders, inputs = {}, {}
    if text_encoder != "none":
        encoders["text"], inputs["text"] = _text_modality(names, text, text_encoder, text_model, max_tokens,
                                                          max_vocab, char_ngrams, dim, layers)
    if image_encoder != "none":
        encoders["image"], inputs["image"] = _image_modality(names, images, image_encoder, dim, layers)
    if features is not None:
        encoders["features"] = build_encoder("features", in_dim=features[0].shape[1], out_dim=dim)
        inputs["features"] = features
    if not encoders:
        raise ConfigError("no modality: set encoders.text_encoder, encoders.image_encoder or encoders.features")
    if freeze:
        for encoder in encoders.values():
            encoder.freeze()
    for modality, missing in count_missing(inputs).items():
        log.info(f"{modality}: {len(names) - missing:,} of {len(names):,} items have one; "
                 f"{missing:,} use the learned placeholder")
    struct_dim = (out_dim if fusion == "residual" else dim) if structural else 0
    return MultimodalEmbedding(len(names), struct_dim, encoders, inputs, out_dim, fusion)


def _text_modality(names, path, encoder_name, model_path, max_tokens, max_vocab, char_ngrams, dim, layers):
    if path is None:
        raise ConfigError(f"encoders.text_encoder={encoder_name} needs encoders.text, an entity<TAB>text file")
    texts = read_entity_text(path, known_ids=set(names))
    if encoder_name == "pretrained":
        if model_path is None:
            raise ConfigError("encoders.text_encoder=pretrained needs encoders.text_model, a local model folder")
        encoder = build_encoder("pretrained", model_path=model_path, max_length=max_tokens)
        return encoder, ([texts.get(name, "") for name in names], torch.tensor([name in texts for name in names]))
    # the vocabulary is fitted on the texts in id order, so it is the same on every rebuild
    tokenizer = WordTokenizer.fit((texts[name] for name in names if name in texts), max_size=max_vocab,
                                  max_length=max_tokens, char_ngrams=char_ngrams)
    encoder = known_encoder(TEXT_ENCODERS, encoder_name, "text").for_text(tokenizer.vocab_size, dim, layers, max_tokens)
    return encoder, align_texts(names, texts, tokenizer)


def _image_modality(names, path, encoder_name, dim, layers):
    if path is None:
        raise ConfigError(f"encoders.image_encoder={encoder_name} needs encoders.images, a folder or an .npy file")
    if Path(path).suffix == ".npy" and Path(path).is_file():
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read image array {path}: {error}") from error
        images = images_from_array(array, names)
    else:
        images = read_image_folder(path, known_ids=set(names))
    values, present = align_images(names, images)
    encoder = known_encoder(IMAGE_ENCODERS, encoder_name, "image").for_images(values.shape[1], values.shape[2], dim, layers)
    return encoder, (values, present)

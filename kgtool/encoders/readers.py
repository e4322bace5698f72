"""Readers of entity text and images, and their alignment to item ids for MultimodalEmbedding."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Collection, Optional, Sequence

import numpy as np
import torch

from kgtool.encoders.png import decode_png
from kgtool.encoders.tokenizer import WordTokenizer
from kgtool.errors import DataError

IMAGE_SUFFIXES = (".png", ".npy")


def read_entity_text(path: str | Path, known_ids: Optional[Collection[str]] = None) -> dict[str, str]:
    """``{entity: text}`` from ``entity<TAB>text`` lines (plain or ``.gz``); blank lines are skipped.

    :param known_ids: if given, an entity outside it is an error
    :raises DataError: naming file and line, for a line without a tab, an empty entity, an
        entity given twice, or an unknown entity
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    texts: dict[str, str] = {}
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                entity, tab, text = line.partition("\t")
                if not tab or not entity:
                    raise DataError(f"{path}:{number}: expected 'entity<TAB>text', got {line[:80]!r}")
                if entity in texts:
                    raise DataError(f"{path}:{number}: entity {entity!r} has a second text")
                if known_ids is not None and entity not in known_ids:
                    raise DataError(f"{path}:{number}: unknown entity {entity!r}")
                texts[entity] = text
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read entity text file {path}: {error}") from error
    return texts


def read_image_folder(folder: str | Path, known_ids: Optional[Collection[str]] = None) -> dict[str, torch.Tensor]:
    """``{file stem: image}`` for the PNG and NPY files in ``folder``.

    PNGs must be 8-bit (grey, RGB, with or without alpha); NPY files hold an (h, w) or
    (channels, h, w) array. Integer pixels are scaled from 0…255 to [0, 1]; floats are kept.

    :return: images of shape (channels, h, w), float32
    :raises DataError: naming the file, for a missing folder, an unreadable image, a stem given
        twice (``a.png`` and ``a.npy``) or a stem outside ``known_ids``
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist")
    images: dict[str, torch.Tensor] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        if path.stem in images:
            raise DataError(f"{path}: a second image for {path.stem!r}")
        if known_ids is not None and path.stem not in known_ids:
            raise DataError(f"{path}: unknown id {path.stem!r}")
        try:
            if path.suffix.lower() == ".png":
                pixels = decode_png(path.read_bytes()).transpose(2, 0, 1)  # (h, w, c) → (c, h, w)
            else:
                pixels = np.load(path, allow_pickle=False)
            images[path.stem] = _as_image(pixels)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read image {path}: {error}") from error
    return images


def images_from_array(array: np.ndarray | torch.Tensor, ids: Sequence[str]) -> dict[str, torch.Tensor]:
    """``{ids[i]: array[i]}`` for an (n, h, w) or (n, channels, h, w) array, scaled as in
    :func:`read_image_folder`."""
    if len(array) != len(ids):
        raise DataError(f"{len(array)} images for {len(ids)} ids")
    return {item: _as_image(np.asarray(image)) for item, image in zip(ids, array)}


def _as_image(pixels: np.ndarray) -> torch.Tensor:
    """(h, w) or (c, h, w) array → (c, h, w) float32 tensor; integers scaled by 1/255."""
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3:
        raise ValueError(f"an image must have 2 or 3 dimensions, got shape {pixels.shape}")
    if np.issubdtype(pixels.dtype, np.integer):
        return torch.from_numpy(pixels.astype(np.float32) / 255.0)
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"unsupported pixel type {pixels.dtype}")
    return torch.from_numpy(pixels.astype(np.float32))


def align_texts(
    ids: Sequence[str], texts: dict[str, str], tokenizer: WordTokenizer
) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids of each item's text, in the order of ``ids``, and which items have a text.

    :return: shapes: (len(ids), tokenizer.max_length) long, (len(ids),) bool
    :raises DataError: if ``texts`` names an id outside ``ids``
    """
    present = _presence(ids, texts, "texts")
    return tokenizer.encode(texts.get(item, "") for item in ids), present


def align_images(ids: Sequence[str], images: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Images in the order of ``ids`` (zeros where missing: the mask says so), and which items have one.

    :return: shapes: (len(ids), channels, h, w), (len(ids),) bool
    :raises DataError: for an id outside ``ids``, no images at all, or images of different shapes
    """
    present = _presence(ids, images, "images")
    if not images:
        raise DataError("no images to align")
    shape = next(iter(images.values())).shape
    stacked = torch.zeros(len(ids), *shape)
    for row, item in enumerate(ids):
        if item in images:
            if images[item].shape != shape:
                raise DataError(f"image {item!r} has shape {tuple(images[item].shape)}, others {tuple(shape)}")
            stacked[row] = images[item]
    return stacked, present


def _presence(ids: Sequence[str], values: dict, what: str) -> torch.Tensor:
    """The (len(ids),) bool mask of the ids that have a value; a value for an unknown id is an error."""
    known = set(ids)
    unknown = [key for key in values if key not in known]
    if unknown:
        raise DataError(f"{len(unknown)} {what} for unknown ids, e.g. {unknown[:3]}")
    return torch.tensor([item in values for item in ids], dtype=torch.bool)


def count_missing(inputs: dict[str, tuple[object, torch.Tensor]]) -> dict[str, int]:
    """``{modality: number of items without it}`` from MultimodalEmbedding-style ``(values, present)`` pairs."""
    return {name: int((~present).sum()) for name, (_, present) in inputs.items()}

import gzip

import numpy as np
import pytest
import torch

from kgtool.encoders import (
    WordTokenizer,
    align_images,
    align_texts,
    count_missing,
    images_from_array,
    read_entity_text,
    read_image_folder,
)
from kgtool.errors import DataError

from test_png import encode_png


def test_reads_plain_and_gzipped_text(tmp_path):
    (tmp_path / "e.txt").write_text("a\tfirst text\n\nb\tsecond\twith tab\n", encoding="utf-8")
    with gzip.open(tmp_path / "e.txt.gz", "wt", encoding="utf-8") as f:
        f.write("a\tfirst text\nb\tsecond\twith tab\n")
    expected = {"a": "first text", "b": "second\twith tab"}
    assert read_entity_text(tmp_path / "e.txt") == expected
    assert read_entity_text(tmp_path / "e.txt.gz", known_ids={"a", "b"}) == expected


@pytest.mark.parametrize(
    "content, known, message",
    [
        ("a\tok\nno tab here\n", None, r"e.txt:2: expected"),
        ("a\tx\na\ty\n", None, r"e.txt:2: entity 'a' has a second text"),
        ("a\tx\nz\ty\n", {"a"}, r"e.txt:2: unknown entity 'z'"),
    ],
)
def test_text_errors_name_file_and_line(tmp_path, content, known, message):
    (tmp_path / "e.txt").write_text(content)
    with pytest.raises(DataError, match=message):
        read_entity_text(tmp_path / "e.txt", known_ids=known)


def test_missing_text_file(tmp_path):
    with pytest.raises(DataError, match="nope.txt"):
        read_entity_text(tmp_path / "nope.txt")


def test_reads_png_and_npy_images_keyed_by_stem(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4, 1) * 20
    (tmp_path / "a.png").write_bytes(encode_png(pixels, 0, [1, 2, 4]))
    np.save(tmp_path / "b.npy", np.full((1, 3, 4), 0.5, dtype=np.float32))
    (tmp_path / "notes.txt").write_text("ignored")
    images = read_image_folder(tmp_path, known_ids={"a", "b"})
    assert sorted(images) == ["a", "b"]
    torch.testing.assert_close(images["a"], torch.from_numpy(pixels.transpose(2, 0, 1) / 255.0).float())
    assert images["b"].shape == (1, 3, 4) and images["b"].max() == 0.5


@pytest.mark.parametrize(
    "name, content, known, message",
    [
        ("a.png", b"not an image", None, r"a.png: not a PNG"),
        ("a.npy", b"garbage", None, r"cannot read image .*a.npy"),
        ("z.npy", None, {"a"}, r"z.npy: unknown id 'z'"),
    ],
)
def test_image_errors_name_the_file(tmp_path, name, content, known, message):
    if content is None:
        np.save(tmp_path / name, np.zeros((2, 2)))
    else:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_image_folder(tmp_path, known_ids=known)


def test_array_images_alignment_and_missing_counts(tokenizer):
    images = images_from_array(np.arange(2 * 4, dtype=np.uint8).reshape(2, 2, 2), ["x", "y"])
    stacked, image_present = align_images(["x", "w", "y"], images)
    assert stacked.shape == (3, 1, 2, 2) and image_present.tolist() == [True, False, True]
    torch.testing.assert_close(stacked[2, 0], torch.tensor([[4.0, 5.0], [6.0, 7.0]]) / 255)
    tokens, text_present = align_texts(["x", "w", "y"], {"w": "dog"}, tokenizer)
    assert tokens.shape == (3, tokenizer.max_length) and text_present.tolist() == [False, True, False]
    assert count_missing({"image": (stacked, image_present), "text": (tokens, text_present)}) == {"image": 1, "text": 2}


def test_alignment_errors():
    with pytest.raises(DataError, match="unknown ids"):
        align_texts(["a"], {"b": "text"}, WordTokenizer.fit(["text"]))
    with pytest.raises(DataError, match="shape"):
        align_images(["a", "b"], {"a": torch.zeros(1, 2, 2), "b": torch.zeros(1, 3, 3)})
    with pytest.raises(DataError, match="3 images for 2 ids"):
        images_from_array(np.zeros((3, 2, 2)), ["a", "b"])

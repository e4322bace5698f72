import logging

import numpy as np
import pytest
import torch

from kgtool.encoders.from_files import multimodal_from_files
from kgtool.errors import ConfigError, DataError

NAMES = ["a", "b", "c"]


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("a\tthe first entity\nc\tthe third one\n", encoding="utf-8")
    return path


def test_items_without_text_use_the_placeholder_and_are_counted(text_file, caplog):
    with caplog.at_level(logging.INFO, logger="kgtool"):
        embedding = multimodal_from_files(NAMES, 6, text=str(text_file), text_encoder="lstm", dim=4)
    assert "text: 2 of 3 items have one; 1 use the learned placeholder" in caplog.text
    texts = embedding.encode_modality("text", torch.tensor([1, 0]))
    torch.testing.assert_close(texts[0], embedding.placeholders["text"])
    assert not torch.allclose(texts[1], embedding.placeholders["text"])
    assert embedding(torch.tensor([[0, 1], [2, 2]])).shape == (2, 2, 6)


def test_the_vocabulary_is_rebuilt_identically(text_file):
    torch.manual_seed(0)
    first = multimodal_from_files(NAMES, 6, text=str(text_file), text_encoder="transformer", dim=8)
    second = multimodal_from_files(NAMES, 6, text=str(text_file), text_encoder="transformer", dim=8)
    second.load_state_dict(first.state_dict())
    torch.testing.assert_close(second(torch.arange(3)), first(torch.arange(3)))


def test_frozen_encoders_stay_fixed_and_in_eval_mode(text_file):
    embedding = multimodal_from_files(NAMES, 6, text=str(text_file), text_encoder="gru", dim=4, freeze=True).train()
    encoder = embedding.encoders["text"]
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    assert embedding.training and embedding.project.weight.requires_grad


def test_unknown_id_in_the_text_file_names_file_and_line(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("a\tknown\nzz\tnot an entity\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"text.txt:2: unknown entity 'zz'"):
        multimodal_from_files(NAMES, 6, text=str(path), text_encoder="gru")


def test_images_from_a_folder_and_an_array(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a", "c"):
        np.save(folder / f"{name}.npy", np.ones((1, 8, 8), dtype=np.float32))
    embedding = multimodal_from_files(NAMES, 5, images=str(folder), image_encoder="cnn", dim=4, structural=False)
    assert embedding.structural is None and embedding.inputs["image"][1].tolist() == [True, False, True]
    np.save(tmp_path / "array.npy", np.zeros((3, 8, 8), dtype=np.uint8))
    embedding = multimodal_from_files(NAMES, 5, images=str(tmp_path / "array.npy"), image_encoder="vit", dim=8)
    assert embedding(torch.tensor([0, 2])).shape == (2, 5)


def test_unreadable_or_unknown_images_are_data_errors(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read image .*a.png"):
        multimodal_from_files(NAMES, 5, images=str(folder), image_encoder="cnn")
    (folder / "a.png").unlink()
    np.save(folder / "zz.npy", np.ones((8, 8)))
    with pytest.raises(DataError, match=r"zz.npy: unknown id 'zz'"):
        multimodal_from_files(NAMES, 5, images=str(folder), image_encoder="cnn")


def test_an_encoder_without_its_input_is_a_config_error():
    with pytest.raises(ConfigError, match="needs encoders.text"):
        multimodal_from_files(NAMES, 5, text_encoder="lstm")
    with pytest.raises(ConfigError, match="no modality"):
        multimodal_from_files(NAMES, 5)

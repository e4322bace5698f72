import importlib.util

import pytest

from kgtool.encoders import PretrainedTextEncoder, TorchvisionEncoder
from kgtool.errors import ConfigError


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed")
def test_pretrained_text_encoder_says_what_to_install(tmp_path):
    with pytest.raises(ConfigError, match="pip install 'transformers'"):
        PretrainedTextEncoder(str(tmp_path))


@pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="transformers is not installed")
def test_pretrained_text_encoder_needs_an_existing_directory(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        PretrainedTextEncoder(str(tmp_path / "missing"))


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is not None, reason="torchvision is installed")
def test_torchvision_encoder_says_what_to_install():
    with pytest.raises(ConfigError, match="pip install 'torchvision'"):
        TorchvisionEncoder("resnet18")

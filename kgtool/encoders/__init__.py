"""Text and image encoders, and their fusion into entity/node representations.

Every encoder maps a batch of inputs to ``(n, out_dim)`` features, has ``out_dim``, a
plain-data ``config()`` / ``from_config()`` pair and ``freeze()`` / ``unfreeze()``.
:class:`MultimodalEmbedding` combines them with a structural embedding for KGE models and GNNs;
:func:`multimodal_from_files` builds one from a text file and images (the ``encoders`` config).
"""

from kgtool.encoders.bag import BagOfWordsEncoder
from kgtool.encoders.base import Encoder
from kgtool.encoders.cnn import CNNEncoder
from kgtool.encoders.diffusion import DiffusionEncoder
from kgtool.encoders.features import FeatureEncoder
from kgtool.encoders.from_files import multimodal_from_files
from kgtool.encoders.fusion import MultimodalEmbedding
from kgtool.encoders.pretrained_text import PretrainedTextEncoder
from kgtool.encoders.readers import (
    align_images,
    align_texts,
    count_missing,
    images_from_array,
    read_entity_text,
    read_image_folder,
)
from kgtool.encoders.recurrent import GRUEncoder, LSTMEncoder
from kgtool.encoders.registry import ENCODERS, build_encoder
from kgtool.encoders.tokenizer import WordTokenizer
from kgtool.encoders.torchvision_backbone import TorchvisionEncoder
from kgtool.encoders.transformer import TransformerEncoder
from kgtool.encoders.vae import VAEEncoder
from kgtool.encoders.vit import ViTEncoder

__all__ = [
    "BagOfWordsEncoder",
    "CNNEncoder",
    "DiffusionEncoder",
    "FeatureEncoder",
    "ENCODERS",
    "Encoder",
    "GRUEncoder",
    "LSTMEncoder",
    "MultimodalEmbedding",
    "PretrainedTextEncoder",
    "TorchvisionEncoder",
    "TransformerEncoder",
    "VAEEncoder",
    "ViTEncoder",
    "WordTokenizer",
    "align_images",
    "align_texts",
    "build_encoder",
    "count_missing",
    "images_from_array",
    "multimodal_from_files",
    "read_entity_text",
    "read_image_folder",
]

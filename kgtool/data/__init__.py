"""Datasets: knowledge graphs (KGDataset) and their readers and registry."""

from kgtool.data.kg import SPLITS, KGDataset, OGBProtocol
from kgtool.data.readers import load_folder, load_networkx, load_triples_factories
from kgtool.data.registry import KG_DATASETS, load_kg

__all__ = ["SPLITS", "KGDataset", "KG_DATASETS", "OGBProtocol", "load_folder", "load_kg", "load_networkx", "load_triples_factories"]

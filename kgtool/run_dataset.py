"""Which data a run folder's model belongs to: ``dataset.json`` records where the data lay and its
fingerprint; a dataset given in memory is written into the folder (``dataset/``), as pykeen keeps
``training_triples/``. Loading checks the fingerprint, so a run is never evaluated on other data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from kgtool.config import GNN_MODELS, Config
from kgtool.data.convert import as_trained, load_named
from kgtool.data.fingerprint import GRAPH_TENSORS, dataset_fingerprint
from kgtool.data.kg import KGDataset
from kgtool.errors import CheckpointError
from kgtool.names import known_name
from kgtool.run_folder import RunFolder

GRAPH_FILE = "graph.pt"  # a stored PyG Data's tensors, loadable with weights_only=True
ENTITY_EXTRAS_FILE = "entity_extras.pt"  # a stored KGDataset's entity types and features, if any


def absolute_data_paths(config: Config) -> Config:
    """``config`` with a dataset folder and ``data_dir`` given as relative paths made absolute,
    so the saved config names the same files from any working directory."""
    data = config.data
    dataset = data.dataset
    if Path(dataset).expanduser().is_dir() and not _is_registered(dataset, config.model.name):
        dataset = str(Path(dataset).expanduser().resolve())
    data_dir = str(Path(data.data_dir).expanduser().resolve()) if data.data_dir else None
    return dataclasses.replace(config, data=dataclasses.replace(data, dataset=dataset, data_dir=data_dir))


def record_dataset(folder: RunFolder, config: Config, dataset, given_in_memory: bool) -> None:
    """Write ``dataset.json`` (and ``dataset/`` for data given in memory) for ``dataset``, the
    KGDataset or PyG Data the run trains on."""
    record = {"dataset": config.data.dataset, "data_dir": config.data.data_dir,
              "name": getattr(dataset, "name", None), "fingerprint": dataset_fingerprint(dataset), "stored": None}
    if given_in_memory:
        _store(dataset, folder.stored_dataset_path)
        record["stored"] = folder.stored_dataset_path.name
    folder.save_json(folder.dataset_record_path, record)


def recorded_dataset(folder: RunFolder, config: Config, dataset=None, dataset_name: str | None = None,
                     data_dir: str | None = None):
    """The dataset of the run in ``folder``, checked against its recorded fingerprint.

    :param dataset: a KGDataset or PyG Data to use instead of loading one
    :param dataset_name: a registered name or folder that re-points the run at moved files
    :param data_dir: the folder holding named datasets, re-pointed likewise
    :return: ``(dataset, config)``: the config with any re-pointing applied, and the dataset, which
        stays None for runs written before fingerprints existed (the task then loads it as the
        config says)
    """
    record = folder.load_json(folder.dataset_record_path)
    if dataset_name is not None or data_dir is not None:
        data = dataclasses.replace(config.data, dataset=dataset_name or config.data.dataset,
                                   data_dir=data_dir or config.data.data_dir)
        config = absolute_data_paths(dataclasses.replace(config, data=data))
    if record is None:
        return dataset, config
    if dataset is None:
        stored = record.get("stored")
        if stored and dataset_name is None and data_dir is None:
            dataset = _load_stored(folder.path / stored, config, record.get("name"))
        else:
            dataset = load_named(config.data.dataset, config)
    found = dataset_fingerprint(as_trained(dataset, config))
    if found != record["fingerprint"]:
        where = "the dataset given" if dataset_name is None and data_dir is None else "the dataset re-pointed to"
        raise CheckpointError(
            f"{folder.path} was trained on other data: {where} ({_describe_location(config)}) has fingerprint "
            f"{found[:19]}…, the run recorded {record['fingerprint'][:19]}… for {record['dataset']!r}"
            f"{' in ' + record['data_dir'] if record.get('data_dir') else ''}. Pass --dataset/--data-dir "
            f"(dataset=/data_dir=) naming the run's own files")
    return dataset, config


def _store(dataset, path: Path) -> None:
    if isinstance(dataset, KGDataset):
        from kgtool.data.inductive import write_folder

        write_folder(dataset, path)
        extras = {"types": dataset.entity_types, "features": dataset.entity_features}
        if any(value is not None for value in extras.values()):
            torch.save(extras, path / ENTITY_EXTRAS_FILE)
        return
    path.mkdir(parents=True, exist_ok=True)
    tensors = {name: getattr(dataset, name) for name in GRAPH_TENSORS
               if isinstance(getattr(dataset, name, None), torch.Tensor)}
    torch.save(tensors, path / GRAPH_FILE)


def _load_stored(path: Path, config: Config, name: str | None):
    if config.model.name in GNN_MODELS:
        from torch_geometric.data import Data

        try:
            tensors = torch.load(path / GRAPH_FILE, weights_only=True)
        except (OSError, RuntimeError) as error:
            raise CheckpointError(f"cannot read the run's stored graph {path / GRAPH_FILE}: {error}") from None
        return Data(**tensors)
    from kgtool.data.readers import load_folder

    dataset = load_folder(path, name=name or "dataset")
    if (path / ENTITY_EXTRAS_FILE).is_file():
        extras = torch.load(path / ENTITY_EXTRAS_FILE, weights_only=True)
        dataset.entity_types, dataset.entity_features = extras["types"], extras["features"]
    return dataset


def _describe_location(config: Config) -> str:
    data = config.data
    return f"{data.dataset!r}" + (f" in {data.data_dir}" if data.data_dir else "")


def _is_registered(name: str, model: str) -> bool:
    """Whether ``name`` is a registered name in any spelling (``FB15k-237``), which the loaders
    take before a folder of that name."""
    if model in GNN_MODELS:
        from kgtool.data.graphs import OGB_NODE, PLANETOID

        return known_name(name, [*PLANETOID, *OGB_NODE]) is not None
    from kgtool.data.registry import KG_DATASETS

    return known_name(name, KG_DATASETS) is not None

"""Dataset names -> KGDataset, from local files when they exist, else pykeen's loaders; the OGB
sets through ogb's own loader, which downloads them into the data folder or the cache."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from kgtool.data.kg import KGDataset
from kgtool.data.readers import load_folder, load_triples_factories
from kgtool.errors import DataError
from kgtool.names import did_you_mean, known_name


@dataclass(frozen=True)
class KGSource:
    """Where a named dataset comes from, and its published size (entities, relations, triples)."""

    folder: str  # folder name under --data-dir / $KGTOOL_DATA
    pykeen_name: str | None  # pykeen.datasets class name; downloads unless shipped in pykeen's package
    entities: int
    relations: int
    triples: tuple[int, int, int]
    offline: bool = False  # shipped inside the pykeen package
    ogb: bool = False  # read, and downloaded when missing, by ogb's LinkPropPredDataset


KG_DATASETS = {
    "nations": KGSource("nations", "Nations", 14, 55, (1592, 199, 201), offline=True),
    "umls": KGSource("umls", "UMLS", 135, 46, (5216, 652, 661), offline=True),
    "kinships": KGSource("kinships", "Kinships", 104, 25, (8544, 1068, 1074), offline=True),
    "fb15k237": KGSource("FB15k-237", "FB15k237", 14541, 237, (272115, 17535, 20466)),
    "wn18rr": KGSource("WN18RR", "WN18RR", 40943, 11, (86835, 3034, 3134)),
    "codex-s": KGSource("CoDEx-S", "CoDExSmall", 2034, 42, (32888, 1827, 1828)),
    "codex-m": KGSource("CoDEx-M", "CoDExMedium", 17050, 51, (185584, 10310, 10311)),
    "ogbl-biokg": KGSource("ogbl_biokg", None, 93773, 51, (4762678, 162886, 162870), ogb=True),
    "ogbl-wikikg2": KGSource("ogbl_wikikg2", None, 2500604, 535, (16109182, 429456, 598543), ogb=True),
}


def data_dir_or_env(data_dir: str | None) -> Path | None:
    """The folder holding named datasets: ``data_dir``, else ``$KGTOOL_DATA``, else None."""
    chosen = data_dir or os.environ.get("KGTOOL_DATA")
    return Path(chosen).expanduser() if chosen else None


def cache_dir() -> Path:
    """Where processed datasets are written: ``$KGTOOL_CACHE``, else ``~/.cache/kgtool``."""
    return Path(os.environ.get("KGTOOL_CACHE", "~/.cache/kgtool")).expanduser()


def load_kg(dataset: str, data_dir: str | None = None) -> KGDataset:
    """Load a registered name (``kgtool datasets``) or a folder of train/valid/test files.

    OGB sets live in ``<data_dir>/ogbl_<name>/`` (``data_dir`` or ``$KGTOOL_DATA``, else
    ``<cache>/ogb``), where ogb downloads them when missing.
    """
    key = known_name(dataset, KG_DATASETS)
    if key is None:
        if Path(dataset).expanduser().is_dir():
            return load_folder(Path(dataset).expanduser())
        raise DataError(f"dataset '{dataset}' is neither a known name{did_you_mean(dataset, KG_DATASETS)} "
                        f"({', '.join(KG_DATASETS)}) nor an existing folder")
    source = KG_DATASETS[key]
    if source.offline:
        return _load_pykeen_shipped(key, source)
    folder = data_dir_or_env(data_dir)
    if source.ogb:
        from kgtool.data.ogb_link import load_ogb_link  # imports ogb and pandas: seconds

        return load_ogb_link(key, folder if folder is not None else cache_dir() / "ogb")
    if folder is not None:
        if not (folder / source.folder).is_dir():
            raise DataError(f"dataset '{key}': no folder {folder / source.folder} (from --data-dir or KGTOOL_DATA)")
        return load_folder(folder / source.folder, name=key)
    return _download_with_pykeen(key, source)


def _load_pykeen_shipped(key: str, source: KGSource) -> KGDataset:
    """Nations, UMLS and Kinships: read the files pykeen ships inside its package (no network).

    The package folder is found without importing pykeen, which takes seconds.
    """
    spec = importlib.util.find_spec("pykeen")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"dataset '{key}' ships with pykeen, which is not installed")
    return load_folder(Path(spec.submodule_search_locations[0]) / "datasets" / source.folder, name=key)


def _download_with_pykeen(key: str, source: KGSource) -> KGDataset:  # pragma: no cover - needs network
    import pykeen.datasets

    try:
        loaded = getattr(pykeen.datasets, source.pykeen_name)()
    except Exception as error:
        raise DataError(f"dataset '{key}': pykeen could not download it ({error}); "
                        f"pass --data-dir or set KGTOOL_DATA to a folder holding {source.folder}/") from None
    return load_triples_factories(key, loaded.training, loaded.validation, loaded.testing)

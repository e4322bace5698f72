"""One PNG of one or more runs, overlaid: training loss and validation metrics over epochs (from
``log.jsonl``) and the test MRR of each relation, sorted (from ``metrics.json``).

matplotlib is an optional extra (``pip install 'kgtool-ml[plot]'``).
"""

from __future__ import annotations

import json
from pathlib import Path

from kgtool.config import GNN_MODELS
from kgtool.errors import ConfigError, DataError, KGToolError
from kgtool.optional import extra, import_optional
from kgtool.run_folder import RunFolder, make_folder

VALIDATION_METRICS = ("mrr", "hits@10", "accuracy")


def read_log(folder: RunFolder) -> list[dict]:
    """The training epochs' records of a run's ``log.jsonl`` (encoder pre-training's are left
    out); a DataError names a missing file or bad line."""
    if not folder.log_path.is_file():
        raise DataError(f"{folder.path} has no log.jsonl: not a run folder, or no epoch finished")
    records = []
    for number, line in enumerate(folder.log_path.read_text().splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise DataError(f"{folder.log_path}:{number}: not JSON ({error.msg})") from None
    return [record for record in records if record.get("phase") != "pretrain"]


def plot_runs(run_dirs: list[str | Path], output: str | Path | None = None, ranks: bool = False) -> Path:
    """Draw the runs of ``run_dirs`` into one PNG at ``output`` (default ``<first run>/plot.png``).

    Panels: loss per epoch; each validation metric of :data:`VALIDATION_METRICS` a run logged;
    per-relation test MRR, relations sorted by the first run's MRR (runs with per-relation
    metrics only); with ``ranks``, histograms of the test ranks, head and tail side, which runs do
    not save: each run is loaded and ranks its test split again (KGE runs only).
    """
    figure_module = import_optional("matplotlib.figure", "kgtool plot", extra("plot"))
    folders = [RunFolder(path) for path in run_dirs]
    if ranks:
        for folder in folders:
            model = folder.load_config().model.name
            if model in GNN_MODELS:
                raise KGToolError(f"rank histograms (--ranks) rank a KGE run's test triples; {folder.path} is a "
                                  f"{model} run, a GNN")
    logs = [read_log(folder) for folder in folders]
    per_relation = [folder.load_metrics().get("test", {}).get("per_relation") for folder in folders]
    validated = [m for m in VALIDATION_METRICS if any(m in r.get("valid", {}) for log in logs for r in log)]
    reference = next((relations for relations in per_relation if relations), None)
    order = sorted(reference, key=lambda name: -reference[name]["mrr"]) if reference else []
    panels = ["loss", *validated] + (["per relation"] if reference else []) + (["head", "tail"] if ranks else [])
    figure = figure_module.Figure(figsize=(5 * len(panels), 4), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for folder, log, relations in zip(folders, logs, per_relation):
        label = folder.path.name
        axes[0].plot([r["epoch"] for r in log], [r["loss"] for r in log], marker=".", label=label)
        for axis, metric in zip(axes[1:], validated):
            points = [(r["epoch"], r["valid"][metric]) for r in log if metric in r.get("valid", {})]
            if points:
                axis.plot(*zip(*points), marker="o", label=label)
        if relations:
            mrr = [relations[name]["mrr"] if name in relations else float("nan") for name in order]
            axes[len(validated) + 1].plot(range(len(order)), mrr, marker=".", linestyle="", label=label)
    axes[0].set(title="training loss", xlabel="epoch", ylabel="loss")
    for axis, metric in zip(axes[1:], validated):
        axis.set(title=f"validation {metric}", xlabel="epoch", ylabel=metric)
    if reference:
        axes[len(validated) + 1].set(title="test MRR per relation", xlabel="relations, sorted by the first run's MRR",
                                     ylabel="MRR")
    if ranks:
        draw_rank_histograms(axes[-2:], folders)
    for axis in axes:
        axis.legend(fontsize="small")
    path = Path(output) if output is not None else folders[0].path / "plot.png"
    make_folder(path.parent, "plot folder")
    try:
        figure.savefig(path, dpi=100)
    except OSError as error:
        raise ConfigError(f"cannot write the plot {path}: {error.strerror}") from None
    return path


def draw_rank_histograms(axes, folders: list[RunFolder]) -> None:
    """Head-side and tail-side test ranks of each run on ``axes`` (two), log-spaced bins."""
    import numpy as np

    from kgtool.run import load

    for folder in folders:
        run = load(folder.path)
        bins = np.geomspace(1, run.dataset.num_entities + 1, 30)
        for axis, side in zip(axes, run.ranks("test")):
            axis.hist(side.numpy(), bins=bins, histtype="step", label=folder.path.name)
    for axis, side in zip(axes, ("head", "tail")):
        axis.set(title=f"test ranks, {side} side", xlabel="filtered rank", ylabel="triples", xscale="log")

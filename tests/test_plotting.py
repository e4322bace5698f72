"""kgtool plot: a valid PNG of several runs; one-line errors for missing matplotlib and bad logs."""

import sys

import pytest

from kgtool.cli.main import main
from kgtool.errors import ConfigError, DataError
from kgtool.plotting import plot_runs
from tests.cli.test_main import FAST

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plot")
    for model in ("distmult", "transe"):
        assert main(["fit", "--model", model, "--dataset", "nations", "--output", str(folder / model),
                     "--epochs", "2"] + FAST[2:]) == 0
    return [folder / "distmult", folder / "transe"]


def test_plot_writes_a_png_of_all_panels(runs, tmp_path, capsys):
    import matplotlib.image

    output = tmp_path / "runs.png"
    assert main(["plot", *map(str, runs), "--output", str(output)]) == 0
    assert capsys.readouterr().out.strip() == str(output)
    assert output.read_bytes()[:8] == PNG_SIGNATURE
    height, width, _ = matplotlib.image.imread(output).shape
    assert (width, height) == (2000, 400)  # four panels of 5 x 4 inches at 100 dpi: loss, mrr, hits@10, per relation
    assert plot_runs(runs[:1]) == runs[0] / "plot.png" and (runs[0] / "plot.png").read_bytes()[:8] == PNG_SIGNATURE


def test_missing_matplotlib_names_the_extra(runs, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ConfigError, match=r"kgtool plot needs an optional package: pip install 'kgtool-ml\[plot\]'"):
        plot_runs(runs)


def test_bad_logs_name_the_file_and_line(runs, tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 2
    assert "has no log.jsonl" in capsys.readouterr().err
    (tmp_path / "log.jsonl").write_text('{"epoch": 1, "loss": 0.5}\n{"epoch": 2,\n')
    with pytest.raises(DataError, match=r"log.jsonl:2: not JSON"):
        plot_runs([tmp_path])


def test_rank_histograms_come_from_the_ranks_the_metrics_were_taken_from(runs, tmp_path):
    import json

    import kgtool
    import matplotlib.image

    head, tail = kgtool.load(runs[0]).ranks("test")
    saved = json.loads((runs[0] / "metrics.json").read_text())["test"]
    assert head.reciprocal().mean().item() == pytest.approx(saved["head"]["mrr"])
    assert tail.reciprocal().mean().item() == pytest.approx(saved["tail"]["mrr"])
    output = plot_runs(runs, tmp_path / "ranks.png", ranks=True)
    assert matplotlib.image.imread(output).shape[:2] == (400, 3000)  # two more panels: head and tail ranks


def test_plot_output_makes_its_folder_or_says_why_not(runs, tmp_path, capsys):
    output = tmp_path / "new" / "folder" / "runs.png"
    assert main(["plot", str(runs[0]), "--output", str(output)]) == 0
    assert output.read_bytes()[:8] == PNG_SIGNATURE
    (tmp_path / "a-file").write_text("mine")
    assert main(["plot", str(runs[0]), "--output", str(tmp_path / "a-file" / "runs.png")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"the plot folder {tmp_path / 'a-file'} is a file, not a folder; "
                                                    f"choose another")


def test_rank_histograms_of_a_gnn_run_are_one_line(runs, tmp_path, capsys):
    folder = tmp_path / "graph"
    folder.mkdir()
    (folder / "nodes.csv").write_text("id,label,f0\n" + "".join(f"n{i},{i % 2},{i / 10}\n" for i in range(12)))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"n{i},n{(i + 3) % 12}\n" for i in range(12)))
    gnn = tmp_path / "gnn"
    assert main(["fit", "--model", "gcn", "--dataset", str(folder), "--epochs", "1", "--no-progress",
                 "--output", str(gnn)]) == 0
    capsys.readouterr()
    assert main(["plot", str(runs[0]), str(gnn), "--ranks", "--output", str(tmp_path / "p.png")]) == 2
    assert capsys.readouterr().err.strip() == (f"kgtool: error: rank histograms (--ranks) rank a KGE run's test "
                                               f"triples; {gnn} is a gcn run, a GNN")
    assert not (tmp_path / "p.png").exists()

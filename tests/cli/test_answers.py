"""The answer commands end to end: predict's inputs and formats, and their one-line errors."""

import json

import pytest

from kgtool.cli.main import main
from tests.cli.test_main import FAST


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("answers") / "run"
    assert main(["fit", "--model", "distmult", "--dataset", "nations", "--output", str(path)] + FAST) == 0
    return path


def strict_json(text: str):
    """``text`` read as strict JSON parsers read it: NaN and Infinity, which Python's json accepts, are errors."""
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def predict_json(run_dir, capsys, *argv):
    capsys.readouterr()
    assert main(["predict", str(run_dir), "--format", "json", *argv]) == 0
    return strict_json(capsys.readouterr().out)


def test_filter_leaves_only_new_links(run_dir, capsys):
    query = ["--head", "usa", "--relation", "embassy", "--top", "14"]
    everything = predict_json(run_dir, capsys, *query)[0]["answers"]
    assert len(everything) == 14 and any(a["known"] for a in everything)
    new = predict_json(run_dir, capsys, *query, "--filter")[0]["answers"]
    assert new == [a for a in everything if not a["known"]]


def test_relation_prediction_and_formats(run_dir, capsys):
    relations = predict_json(run_dir, capsys, "--head", "usa", "--tail", "uk", "--top", "100")[0]["answers"]
    assert len(relations) == 55 and {(a["head"], a["tail"]) for a in relations} == {("usa", "uk")}
    assert main(["predict", str(run_dir), "--head", "usa", "--tail", "uk", "--top", "3", "--format", "tsv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t") == ["query", "rank", "head", "relation", "tail", "score", "known"] and len(lines) == 4
    assert [line.split("\t")[3] for line in lines[1:]] == [a["relation"] for a in relations[:3]]
    assert main(["predict", str(run_dir), "--head", "usa", "--tail", "uk", "--top", "3"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "(usa, ?, uk)" and [line.split()[3] for line in table[2:]] == [a["relation"] for a in relations[:3]]


def test_query_and_triple_files(run_dir, tmp_path, capsys):
    queries = tmp_path / "queries.tsv"
    queries.write_text("usa\tembassy\t?\n?\tembassy\tuk\n")
    batch = predict_json(run_dir, capsys, "--queries", str(queries), "--top", "4", "--filter")
    assert batch[0]["answers"] == predict_json(run_dir, capsys, "--head", "usa", "--relation", "embassy",
                                               "--top", "4", "--filter")[0]["answers"]
    assert batch[1]["query"] == {"head": None, "relation": "embassy", "tail": "uk"}
    triples = tmp_path / "triples.tsv"
    triples.write_text("usa\tembassy\tuk\nusa\tembassy\tusa\n")
    scored = predict_json(run_dir, capsys, "--triples", str(triples))
    assert [(a["head"], a["tail"]) for a in scored] == [("usa", "uk"), ("usa", "usa")]
    tail_scores = {a["tail"]: a["score"] for a in predict_json(run_dir, capsys, "--head", "usa", "--relation",
                                                               "embassy", "--top", "14")[0]["answers"]}
    assert [a["score"] for a in scored] == pytest.approx([tail_scores["uk"], tail_scores["usa"]], abs=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["--head", "usa"], "predict needs two of --head/--relation/--tail"),
    (["--head", "usa", "--relation", "embassy", "--tail", "uk"], "predict needs two of"),
    (["--head", "usa", "--queries", "q.tsv"], "predict takes one of"),
    (["--queries", "QUERIES"], "QUERIES:2: unknown relation 'nope'"),
    (["--triples", "QUERIES"], "QUERIES:1: a triple to score has no '?'"),
    (["--head", "usa", "--relation", "embassy", "--top", "0"], "top must be at least 1, got 0"),
])
def test_predict_errors_are_one_line(run_dir, tmp_path, argv, message, capsys):
    queries = tmp_path / "q.tsv"
    queries.write_text("usa\tembassy\t?\nusa\tnope\t?\n")
    argv = [str(queries) if a == "QUERIES" else a for a in argv]
    assert main(["predict", str(run_dir), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kgtool: error: ") and message.replace("QUERIES", str(queries)) in err and "\n" not in err


def test_analyze_prints_the_report_as_json_and_as_a_table(tmp_path, capsys):
    from kgtool.data.inductive import write_folder
    from tests.data.test_patterns import planted_graph

    write_folder(planted_graph(), tmp_path / "kg")
    assert main(["analyze", str(tmp_path / "kg"), "--json", "--min-support", "1", "--split", "train"]) == 0
    report = strict_json(capsys.readouterr().out)
    assert report["relations"]["married"] == {"category": "1-1", "symmetry": 1.0, "antisymmetry": 0.0, "inverses": []}
    assert report["compositions"] == [
        {"body": ["born_in", "city_in"], "head": "nationality", "support": 12, "confidence": 1.0}]
    assert main(["analyze", str(tmp_path / "kg"), "--min-support", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + 7 + 2 + 1 and lines[-1].split() == ["12", "1.00", "born_in", "∘", "city_in", "⇒", "nationality"]
    assert "child_of  [parent_of (1.00)]" in "\n".join(lines)
    assert main(["analyze", str(tmp_path / "none")]) == 2
    assert "neither a known name" in capsys.readouterr().err


def test_evaluate_a_file_reports_skipped_triples(run_dir, tmp_path, capsys):
    path = tmp_path / "new.tsv"
    path.write_text("usa\tembassy\tuk\natlantis\tembassy\tuk\nuk\tembassy\tusa\n")
    assert main(["evaluate", str(run_dir), "--triples", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("file") and len(lines[1].split()) == 6
    assert lines[2] == (f"ranked 2 triples of {path}; skipped 1 with entities or relations the run does not know "
                        f"(first: {path}:2: unknown entity 'atlantis' in dataset nations)")


def test_analyze_a_run_adds_test_metrics_per_category_and_pattern(run_dir, capsys):
    assert main(["analyze", str(run_dir), "--json"]) == 0
    report = strict_json(capsys.readouterr().out)
    categories = report["test"]["per_category"]
    assert set(categories) <= {"1-1", "1-N", "N-1", "N-N"} and sum(m["num_triples"] for m in categories.values()) == 201
    assert {"mrr", "hits@10", "head", "tail", "num_triples"} <= set(categories["N-N"])
    assert main(["analyze", str(run_dir)]) == 0
    assert "N-N " in capsys.readouterr().out.split("t-mrr")[1]


@pytest.mark.parametrize("argv, message", [
    (["analyze", "nations", "--min-support", "-5", "--json"], "min_support must be at least 1 and min_confidence in "
                                                              "[0, 1]; got min_support=-5, min_confidence=0.5"),
    (["analyze", "nations", "--min-confidence", "2"], "got min_support=10, min_confidence=2.0"),
    (["analyze", "{run}", "--min-confidence", "-0.5", "--json"], "got min_support=10, min_confidence=-0.5"),
    (["predict", "{run}", "--queries", "{empty}"], "{empty} holds no queries: it is empty or blank"),
    (["predict", "{run}", "--triples", "{empty}", "--format", "json"], "{empty} holds no triples: it is empty or blank"),
    (["evaluate", "{run}", "--triples", "{empty}"], "{empty} holds no triples: it is empty or blank"),
])
def test_inputs_that_would_give_nothing_or_nan_are_one_line(run_dir, tmp_path, capsys, argv, message):
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n")
    assert main([a.format(run=run_dir, empty=empty) for a in argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert captured.out == "" and err.startswith("kgtool: error: ") and "\n" not in err
    assert err.endswith(message.format(empty=empty))


@pytest.mark.parametrize("argv, message", [
    (["predict", "{run}", "--triples", "{file}", "--top", "3"], "--top and --filter apply to queries only"),
    (["predict", "{run}", "--triples", "{file}", "--filter"], "--top and --filter apply to queries only"),
    (["analyze", "{run}", "--split", "train"], "--data-dir and --split apply to a dataset name"),
])
def test_options_that_do_not_apply_are_refused(run_dir, tmp_path, capsys, argv, message):
    triples = tmp_path / "t.tsv"
    triples.write_text("brazil\tembassy\tusa\n")
    assert main([a.format(run=run_dir, file=triples) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_json_output_never_holds_nan():
    from kgtool.cli.answers import as_json
    from kgtool.errors import KGToolError

    assert strict_json(as_json({"score": 1.5})) == {"score": 1.5}
    with pytest.raises(KGToolError, match="NaN or infinite number, which JSON cannot hold"):
        as_json([{"score": float("nan")}])

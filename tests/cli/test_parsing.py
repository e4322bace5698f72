"""Habits every command shares: --version, help with defaults and examples, -q/-v, model names."""

import argparse
import logging

import pytest

import kgtool
from kgtool.cli.main import build_parser, fit_config, main


def commands() -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices


def test_version_is_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"kgtool {kgtool.__version__}"


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_help_shows_an_example(name):
    text = commands()[name].format_help()
    assert f"examples:\n  kgtool {name}" in text
    assert "-q, --quiet" in text


@pytest.mark.parametrize("name, shown", [
    ("fit", ["shortcut for --set training.lr (default: 0.001)", "model.dim (default: 200)", "(default: auto)",
             "training.seed (default: 0)", "(default: 512;"]),
    ("search", ["(default: 20)", "(default: median)", "sampler seed; give each machine of a shared study its own "
                                                      "(default: 0)"]),
    ("evaluate", ["(default: test)"]),
    ("predict", ["(default: table)", "(default: 10)"]),
    ("split", ["(default: 0.8,0.1,0.1)"]),
])
def test_help_shows_defaults(name, shown):
    text = " ".join(commands()[name].format_help().split())  # undo the wrapping
    for fragment in shown:
        assert fragment in text, fragment


def test_fit_shortcuts_set_the_config():
    args = build_parser().parse_args(["fit", "--seed", "3", "--device", "cpu", "--lr", "0.05", "--dim", "16",
                                      "--batch-size", "64", "--epochs", "2"])
    t = fit_config(args).training
    assert (t.seed, t.device, t.lr, t.batch_size, t.epochs, fit_config(args).model.dim) == (3, "cpu", 0.05, 64, 2, 16)


@pytest.mark.parametrize("given, name", [("TransE", "transe"), ("ROTATE", "rotate"), ("ComplEx", "complex"),
                                         ("DistMult", "distmult"), ("GraphSAGE", "sage"), ("GCN", "gcn")])
def test_model_names_in_any_common_spelling(given, name):
    assert fit_config(build_parser().parse_args(["fit", "--model", given])).model.name == name


def test_an_unknown_model_gets_did_you_mean(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--model", "transee"])
    assert exit_info.value.code == 2 and "did you mean 'transe'?" in capsys.readouterr().err


def test_an_unknown_config_key_gets_did_you_mean(capsys):
    assert main(["fit", "--set", "training.epoch=2"]) == 2
    assert "unknown key 'epoch' in section 'training' (did you mean 'epochs'?)" in capsys.readouterr().err


def test_a_gnn_without_a_dataset_trains_on_a_node_graph():
    assert fit_config(build_parser().parse_args(["fit", "--model", "gcn"])).data.dataset == "cora"
    assert fit_config(build_parser().parse_args(["fit", "--model", "gcn", "--dataset", "citeseer"])).data.dataset \
        == "citeseer"
    assert fit_config(build_parser().parse_args(["fit"])).data.dataset == "umls"


@pytest.mark.parametrize("argv, level", [(["-q", "datasets"], logging.WARNING), (["datasets", "-q"], logging.WARNING),
                                         (["datasets", "--verbose"], logging.DEBUG), (["datasets"], logging.INFO)])
def test_quiet_and_verbose_set_the_log_level(argv, level, capsys):
    assert main(argv) == 0
    assert logging.getLogger("kgtool").level == level


def test_configs_lists_recipes_and_spaces(capsys):
    assert main(["configs"]) == 0
    out = capsys.readouterr().out
    assert "\n  umls/complex " in out and "\n  distmult " in out and "kgtool fit --config NAME" in out

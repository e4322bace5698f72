"""Search spaces: YAML parsing (numbers in every Python float form), checks against the config, sampling."""

import pytest

from kgtool.config import GNN_MODELS, KGE_MODELS, resolve_config
from kgtool.errors import ConfigError
from kgtool.hyperparameter_search import default_space
from kgtool.search_space import Choice, Range, load_space, parse_space

BASE = {"model": {"name": "distmult"}, "data": {"dataset": "nations"}}


def test_yaml_numbers_in_every_float_form(tmp_path):
    """PyYAML reads 1e-4 as a string; the space reads it (and 1E+2, 1_000, .5, 1e3 for an int) as a number."""
    path = tmp_path / "space.yaml"
    path.write_text("training.lr: {type: float, low: 1e-4, high: 1E-1, log: true}\n"
                    "model.dim: {type: int, low: 1_6, high: 1e3}\n"
                    "training.loss_margin: {choices: [.5, 1e+1, 2]}\n"
                    "training.epochs: 3e1\n"
                    "model.init_scale: 5e-3\n"
                    "training.optimizer: {choices: [adam, sgd]}\n")
    space = load_space(path)
    assert space.searched == {"training.lr": Range(1e-4, 0.1, log=True), "model.dim": Range(16, 1000, integer=True),
                              "training.loss_margin": Choice([0.5, 10.0, 2.0]), "training.optimizer": Choice(["adam", "sgd"])}
    assert space.fixed == {"training.epochs": 30, "model.init_scale": 0.005}
    assert type(space.searched["model.dim"].low) is int and type(space.fixed["training.epochs"]) is int and type(space.searched["training.loss_margin"].choices[2]) is float
    space.check(BASE, str(path))


def test_sampled_values_become_the_trial_config():
    optuna = pytest.importorskip("optuna")
    space = parse_space({"training.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
                         "model.dim": {"type": "int", "low": 4, "high": 16},
                         "training.optimizer": {"choices": ["adam", "adagrad"]}, "training.epochs": 2})
    trial = optuna.trial.FixedTrial({"training.lr": 0.02, "model.dim": 7, "training.optimizer": "adagrad"})
    sampled = space.sample(trial)
    assert sampled == {"training.lr": 0.02, "model.dim": 7, "training.optimizer": "adagrad"}
    config = resolve_config({**BASE, **space.config_values(sampled)})
    assert (config.training.lr, config.model.dim, config.training.optimizer, config.training.epochs) == (0.02, 7, "adagrad", 2)


@pytest.mark.parametrize("values, message", [
    ({"training.lrr": 1}, "unknown key 'training.lrr'"),
    ({"lr": {"choices": [1]}}, "unknown key 'lr'; write config keys as section.key"),
    ({"training.lr": {"type": "float", "low": 0, "high": 1, "log": True}}, "training.lr: a log range needs low > 0"),
    ({"training.lr": {"type": "float", "low": 1, "high": 0.5}}, "training.lr: low must be below high"),
    ({"training.lr": {"type": "float", "low": -1, "high": 1}}, "training.lr: the value -1.0 is refused: training.lr must be positive"),
    ({"model.dim": {"type": "int", "low": 0, "high": 8}}, "model.dim: the value 0 is refused"),
    ({"model.dim": {"type": "float", "low": 1, "high": 8}}, "model.dim: the config key holds int values"),
    ({"model.dim": {"type": "int", "low": 1, "high": "8.5"}}, "model.dim: high must be int"),
    ({"training.lr": {"type": "float", "low": "1e-4", "high": "abc"}}, "training.lr: high must be float"),
    ({"training.lr": {"type": "float", "low": 1e-4, "high": "inf"}}, "must be a finite number"),
    ({"training.lr": {"type": "float", "low": 1e-4}}, "training.lr: a range needs low and high (missing high)"),
    ({"training.lr": {"low": 1e-4, "high": 1}}, "training.lr: expected {type: float|int"),
    ({"training.lr": {"type": "float", "low": 1e-4, "high": 1, "step": 2}}, "training.lr: unknown field(s) 'step'"),
    ({"training.optimizer": {"choices": []}}, "training.optimizer: choices must be a non-empty list"),
    ({"training.optimizer": {"choices": ["adam", "adamw"]}}, "training.optimizer: the value 'adamw' is refused"),
    ({"training.sparse": "yes"}, "training.sparse must be bool"),
])
def test_bad_spaces_are_one_line_errors_naming_the_key(values, message):
    with pytest.raises(ConfigError) as error:
        parse_space(values, source="space.yaml").check(BASE, "space.yaml")
    assert message in str(error.value) and str(error.value).startswith("space.yaml: ") and "\n" not in str(error.value)


@pytest.mark.parametrize("model", KGE_MODELS + GNN_MODELS)
def test_every_shipped_space_is_valid_for_its_model(model):
    space = load_space(default_space(model))
    assert len(space.searched) >= 5 and space.fixed["training.epochs"] >= 100
    space.check({"model": {"name": model}, "data": {"dataset": "umls" if model in KGE_MODELS else "cora"}}, model)


@pytest.mark.parametrize("name", ["transe-1vsall"])
def test_every_extra_shipped_space_is_valid_for_its_model(name):
    """Spaces beside the defaults, named <model>-<variant>.yaml next to them."""
    path = default_space("transe").with_name(f"{name}.yaml")
    model = name.split("-")[0]
    space = load_space(path)
    assert len(space.searched) >= 5 and space.fixed["training.epochs"] >= 100
    space.check({"model": {"name": model}, "data": {"dataset": "kinships"}}, model)


def test_a_space_whose_combinations_are_valid_only_together_is_accepted():
    """scoring=1vsall|kvsall with loss=ce and label smoothing: each combination a trial draws is
    valid, though ce or smoothing with the default scoring (negatives) would be refused."""
    from kgtool.search_space import parse_space

    space = parse_space({"training.scoring": {"choices": ["1vsall", "kvsall"]}, "training.loss": {"choices": ["ce", "bce"]},
                         "training.label_smoothing": {"type": "float", "low": 0, "high": 0.2}})
    space.check({"model": {"name": "distmult"}}, "space.yaml")
    with pytest.raises(ConfigError, match="training.lr: the value -1.0 is refused"):
        parse_space({"training.lr": {"type": "float", "low": -1, "high": 0.1}}).check({}, "space.yaml")


def test_a_space_with_yaml_aliases_is_refused(tmp_path, capsys):
    from kgtool.cli.main import main
    from tests.conftest import alias_bomb

    path = tmp_path / "space.yaml"
    path.write_text(f"training.lr: {{type: float, low: 1e-4, high: 1e-1}}\nmodel.name: {alias_bomb(7)}\n")
    with pytest.raises(ConfigError, match=rf"^{path}, line 2, column 14: YAML anchors and aliases"):
        load_space(path)
    argv = ["search", "--model", "distmult", "--dataset", "nations", "--space", str(path), "--trials", "1",
            "--output", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kgtool: error: {path}, line 2") and len(err) < 300


def test_space_errors_quote_at_most_about_200_characters_of_a_value():
    with pytest.raises(ConfigError, match=r"choices must be plain values .*\.\.\. \(\d+,\d+ characters\)$") as error:
        parse_space({"model.name": {"choices": [[["lol"] * 9] * 9] * 9}})
    assert len(str(error.value)) < 400
    with pytest.raises(ConfigError, match=r"the value 'xxx.*\.\.\. \(5,002 characters\) is refused") as error:
        parse_space({"training.optimizer": {"choices": ["x" * 5000]}}).check(BASE, "space.yaml")
    assert len(str(error.value)) < 600  # the value, and the config's reason quoting it again

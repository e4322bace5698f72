import pytest

from kgtool.config import Config
from kgtool.errors import ConfigError


def test_overrides_coerce_types_and_accept_unique_bare_keys():
    config = Config().override(["training.lr=0.01", "epochs=7", "model.init_scale=0.5", "reciprocal=true"])
    assert config.training.lr == 0.01 and config.training.epochs == 7
    assert config.model.init_scale == 0.5 and config.training.reciprocal is True


def test_yaml_round_trip(tmp_path):
    config = Config().override(["model.name=complex", "training.scoring=1vsall", "training.loss=ce"])
    path = tmp_path / "c.yaml"
    path.write_text(config.to_yaml())
    assert Config.load(path) == config


@pytest.mark.parametrize("assignment, message", [
    ("nonsense=1", "unknown key"),
    ("training.nonsense=1", "unknown key 'nonsense'"),
    ("bogus.lr=1", "unknown section 'bogus'"),
    ("training.lr=abc", "training.lr must be float"),
    ("model.dim=1.5", "model.dim must be int"),
    ("model.name=bogus", "model.name must be one of"),
    ("training.loss=ce", "training.loss (with scoring=negatives)"),
    ("training.batch_size=0", "training.batch_size must be at least 1"),
    ("encoders.char_ngrams=-1", "encoders.char_ngrams must be 0"),
    ("noequals", "expected key=value"),
])
def test_bad_overrides_name_the_key(assignment, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Config().override([assignment])


def test_unknown_yaml_key_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'training.learning_rate'"):
        Config.load(path)


def test_yaml_is_safe_loaded(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("training: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.load(path)


def test_every_shipped_config_loads():
    from tests.conftest import REPO

    files = sorted(p for p in (REPO / "configs").rglob("*.yaml") if p.parent.name != "search")  # spaces: test_search_space
    assert len(files) >= 16
    for path in files:
        config = Config.load(path)
        assert config.model.name in path.stem, path


def test_layers_model_defaults_file_then_assignments(tmp_path):
    from kgtool.config import MODEL_DEFAULTS, resolve_config

    path = tmp_path / "gat.yaml"
    path.write_text("model:\n  name: gat\ntraining:\n  lr: 0.02\n")
    config = Config.load(path)
    assert config.gnn.heads == MODEL_DEFAULTS["gat"]["gnn"]["heads"] == 8  # model default beneath the file
    assert config.training.lr == 0.02  # the file beats the model default
    config = resolve_config({"model": {"name": "gat"}, "training": {"lr": 0.02}}, ["lr=0.5", "gnn.heads=2"])
    assert (config.training.lr, config.gnn.heads, config.gnn.dropout) == (0.5, 2, 0.6)
    assert resolve_config({}).training.lr == Config().training.lr  # KGE models keep the dataclass defaults
    with pytest.raises(ConfigError, match=r"--set: training.lr must be float"):
        resolve_config({}, ["lr=fast"])

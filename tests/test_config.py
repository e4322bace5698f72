import re

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


@pytest.mark.parametrize("assignments, message", [
    (["training.device=banana"], "training.device must be auto, cpu, cuda, cuda:N or mps; got 'banana'"),
    (["training.device=cuda:x"], "training.device must be auto, cpu, cuda, cuda:N or mps; got 'cuda:x'"),
    (["training.seed=100000000000000000000000"],
     "training.seed must be in [0, 2**64 - 1], the seeds torch takes; got 100000000000000000000000"),
    (["training.seed=-1"], "training.seed must be in [0, 2**64 - 1]"),
    (["model.margin=-1e308"], "model.margin (γ of the score γ - distance) must be in [0, 3.403e+38] (float32), got -1e+308"),
    (["model.margin=1e308"], "model.margin (γ of the score γ - distance) must be in [0, 3.403e+38]"),
    (["model.init_scale=1e300"], "model.init_scale must be positive and at most 3.403e+38"),
    (["relational.encoder=rgcn", "relational.num_blocks=0"], "relational.num_blocks must be at least 1, got 0"),
    (["relational.encoder=rgcn", "relational.num_bases=0"], "relational.num_bases must be at least 1, got 0"),
])
def test_values_torch_cannot_take_are_refused_naming_the_key(assignments, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config().override(assignments)
    assert Config().override(["training.seed=18446744073709551615", "model.margin=0", "training.device=cuda:1"])


def test_unknown_yaml_key_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("training:\n  learning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'training.learning_rate'"):
        Config.load(path)


def test_yaml_is_safe_loaded(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("training: !!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="evil.yaml, line 1, column 11: not valid YAML: could not determine"):
        Config.load(path)


def test_yaml_aliases_are_refused_naming_the_file_and_line(tmp_path, capsys):
    from kgtool.cli.main import main
    from tests.conftest import alias_bomb

    path = tmp_path / "bomb.yaml"
    path.write_text(f"training:\n  lr: 0.1\nmodel:\n  name: {alias_bomb(7)}\n")
    with pytest.raises(ConfigError, match=rf"^{path}, line 4, column 10: YAML anchors and aliases \(&name, \*name\) "
                                          r"are not allowed in configs; write the value out$"):
        Config.load(path)
    assert main(["fit", "--config", str(path), "--output", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kgtool: error: {path}, line 4") and len(err) < 300 and not (tmp_path / "run").exists()
    with pytest.raises(ConfigError, match="anchors and aliases"):
        Config().override([f"model.name={alias_bomb(7)}"])


@pytest.mark.parametrize("assignment, message", [
    ("model.name=" + "x" * 10_000, r"model.name must be one of .*; got 'xxxx.*x\.\.\. \(10,002 characters\)$"),
    ("training.optimizer=[" + "1, " * 5000 + "]", r"must be str, got \[1, 1, .*\.\.\. \(15,000 characters\)$"),
    ("training.lr=1" + "0" * 400, r"training.lr must be a finite number, got 1000.*\.\.\. \(401 characters\)"),
    ("training.epochs=1" + "0" * 5000, r"a value YAML cannot read: Exceeds the limit \(4300 digits\)"),
    ("data.dataset=2024-13-01", "a value YAML cannot read: month must be in 1..12"),
    ("training.lr=[", "not valid YAML: expected the node content"),
], ids=["long-string", "long-list", "huge-float", "huge-int", "bad-date", "bad-yaml"])
def test_errors_quote_at_most_about_200_characters_of_a_value(assignment, message):
    with pytest.raises(ConfigError, match=message) as error:
        Config().override([assignment])
    assert len(str(error.value)) < 500


def test_yaml_syntax_errors_are_one_line_naming_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("training:\n  lr: 0.1\n epochs: [3\n")
    with pytest.raises(ConfigError) as error:
        Config.load(path)
    assert "\n" not in str(error.value) and f"{path}, line 3" in str(error.value)


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


def numeric_fields() -> list[tuple[str, type]]:
    """``(section.key, int or float)`` of every numeric option of the config."""
    import dataclasses
    import typing

    fields = []
    config = Config()
    for section in dataclasses.fields(config):
        hints = typing.get_type_hints(type(getattr(config, section.name)))
        for key, hint in hints.items():
            kinds = set(typing.get_args(hint)) or {hint}
            for kind in (float, int):
                if kind in kinds:
                    fields.append((f"{section.name}.{key}", kind))
                    break
    return fields


# a value each numeric option accepts, and options it needs beside it
VALID = {"gnn.val_ratio": 0.04, "gnn.test_ratio": 0.04, "gnn.dropout": 0.04, "training.label_smoothing": 0.04,
         "model.p_norm": 2}
CONTEXT = {"training.label_smoothing": {"scoring": "1vsall", "loss": "ce"}}  # keys of the same section


@pytest.mark.parametrize("key, kind", numeric_fields())
def test_every_numeric_option_takes_every_python_literal_from_yaml_and_set(tmp_path, key, kind):
    """YAML 1.1 (PyYAML) reads 1e-3 as text; every int/float literal Python takes is a number."""
    section, leaf = key.split(".")
    if kind is float:
        value = VALID.get(key, 0.5)
        literals = [f"{value * 100:g}e-2", f"{value * 100:g}E-2", f"{value:g}".lstrip("0")]  # 4e-2, 4E-2, .04
        assert all(float(literal) == value for literal in literals)
    else:
        value = VALID.get(key, 20)
        literals = [f"{value}e0", f"{value}E0", f"{value}.0", f"0x{value:x}", f"{value}"[:1] + "_" + f"{value}"[1:]]
        assert all(int(float.fromhex(x) if x.startswith("0x") else float(x)) == value for literal in literals
                   for x in [literal.replace("_", "")])
    context = CONTEXT.get(key, {})
    for literal in literals:
        path = tmp_path / "c.yaml"
        path.write_text(f"{section}:\n  {leaf}: {literal}\n" + "".join(f"  {k}: {v}\n" for k, v in context.items()))
        from_yaml = getattr(getattr(Config.load(path), section), leaf)
        assignments = [f"{section}.{k}={v}" for k, v in context.items()] + [f"{key}={literal}"]
        from_set = getattr(getattr(Config().override(assignments), section), leaf)
        assert from_yaml == from_set == value and type(from_yaml) is kind, (key, literal)


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf", ".nan", "1e999"])
def test_non_finite_floats_are_refused_with_the_reason(literal):
    with pytest.raises(ConfigError, match=r"training.lr must be a finite number, got .*would become nan or inf"):
        Config().override([f"training.lr={literal}"])


def test_int_options_refuse_fractions_and_non_finite_numbers():
    for literal in ("1.5", "1e-3", "inf", "nan"):
        with pytest.raises(ConfigError, match="training.epochs must be int"):
            Config().override([f"training.epochs={literal}"])


def test_merged_layers_are_validated_together(tmp_path):
    """A file's scoring=1vsall makes --set training.loss=ce valid (each alone against the
    defaults was refused before); the error of a bad merge names both layers."""
    from kgtool.config import resolve_config

    config = resolve_config({"training": {"scoring": "1vsall", "loss": "ce"}}, ["training.loss=bce"])
    assert (config.training.scoring, config.training.loss) == ("1vsall", "bce")
    config = resolve_config({"training": {"scoring": "1vsall"}}, ["training.loss=ce"], source="my.yaml")
    assert config.training.loss == "ce"
    with pytest.raises(ConfigError, match=r"my.yaml with --set: training.loss \(with scoring=1vsall\)"):
        resolve_config({"training": {"scoring": "1vsall"}}, ["training.loss=nssa"], source="my.yaml")


@pytest.mark.parametrize("assignments, message", [
    (["training.scoring=1vsall", "training.loss=ce", "training.subsampling=true"], "training.subsampling applies to sampled"),
    (["training.scoring=kvsall", "training.loss=bce", "training.subsampling=true"], "training.subsampling applies to sampled"),
    (["training.scoring=1vsall", "training.loss=ce", "training.shared_negatives=true"], "shared_negatives applies"),
    (["training.scoring=1vsall", "training.loss=ce", "training.negative_sampler=bernoulli"], "bernoulli applies to sampled"),
    (["training.reciprocal=true", "training.negative_sampler=bernoulli"], "every query asks for a tail"),
    (["training.label_smoothing=0.1"], "label_smoothing smooths the targets of 1vsall/kvsall"),
    (["training.filter_negatives=true", "training.shared_negatives=true"], "shared negatives have none"),
    (["gnn.val_ratio=0.5", "gnn.test_ratio=0.5"], "must leave training edges"),
])
def test_options_that_would_be_ignored_are_refused(assignments, message):
    with pytest.raises(ConfigError, match=message):
        Config().override(assignments)


def test_batch_size_takes_effect_for_full_graph_gnns(tmp_path, monkeypatch):
    """No batch size: one whole-graph batch an epoch; a given one splits the 72 training nodes."""
    import kgtool
    from kgtool.config import DEFAULT_BATCH_SIZE
    from kgtool.gnn.task import NodeClassificationTask
    from tests.gnn.test_task import community_graph

    assert Config().training.batch_size is None and DEFAULT_BATCH_SIZE == 512
    batches, original = [], NodeClassificationTask.loss
    monkeypatch.setattr(NodeClassificationTask, "loss", lambda self, ids, g: batches.append(len(ids)) or original(self, ids, g))
    for batch_size, expected in ((None, [72]), (32, [32, 32, 8])):
        batches.clear()
        config = Config.from_dict({"model": {"name": "gcn"}, "training": {"epochs": 1, "batch_size": batch_size,
                                                                          "progress": False}})
        kgtool.fit(config, output=tmp_path / str(batch_size), dataset=community_graph())
        assert batches == expected


@pytest.mark.parametrize("assignments, message", [
    (["model.name=gcn", "training.filter_negatives=true"], "training.filter_negatives applies to KGE models"),
    (["model.name=sage", "training.reciprocal=true"], "training.reciprocal applies to KGE models"),
    (["model.name=gat", "gnn.jk=cat", "gnn.output_heads=2"], "gnn.jk replaces"),
    (["model.name=gcn", "data.drop_duplicates=true"], "data.drop_duplicates applies to knowledge-graph triples"),
])
def test_gnn_options_that_would_be_ignored_are_refused(assignments, message):
    with pytest.raises(ConfigError, match=message):
        Config().override(assignments)


def test_run_folders_from_before_the_residual_option_went_still_load(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("model:\n  name: transe\ngnn:\n  residual: false\n")
    assert Config.load(path).model.name == "transe"
    path.write_text("gnn:\n  residual: true\n")
    with pytest.raises(ConfigError, match="gnn.residual was removed: .*try gnn.jk"):
        Config.load(path)


def test_a_torn_last_log_line_is_dropped_on_resume(tmp_path):
    from kgtool.run_folder import RunFolder

    folder = RunFolder(tmp_path)
    folder.append_log({"epoch": 1, "loss": 0.5})
    folder.append_log({"epoch": 2, "loss": 0.4})
    with open(folder.log_path, "a") as log:
        log.write('{"epoch": 3, "lo')  # killed mid-write
    folder.truncate_log(2)
    assert folder.log_path.read_text().splitlines() == ['{"epoch": 1, "loss": 0.5}', '{"epoch": 2, "loss": 0.4}']


def test_the_gnn_paper_recipes_are_the_gnn_models_defaults():
    """configs/cora/<model>.yaml holds each GNN's paper setup: what --model brings beneath the
    user's values, and a recipe by name."""
    from kgtool.config import GNN_MODELS, Config, resolve_config

    for model in GNN_MODELS:
        assert Config.load(f"cora/{model}") == resolve_config({"model": {"name": model}})
    assert resolve_config({"model": {"name": "gat"}}).training.lr == 0.005

"""Property tests of the config parsers: any keys and values are accepted or a ConfigError."""

import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kgtool.config import Config, read_yaml, resolve_config
from kgtool.errors import ConfigError
from kgtool.search_space import nested, parse_space

KNOWN = Config().to_dict()
SECTION_KEYS = [f"{section}.{key}" for section, keys in KNOWN.items() for key in keys]
KEYS = st.one_of(st.sampled_from(SECTION_KEYS), st.sampled_from([k.partition(".")[2] for k in SECTION_KEYS]),
                 st.text(max_size=12))
# YAML text with the pieces that break parsers: brackets, anchors, tags, huge and odd numbers, dates
TOKENS = st.sampled_from(["[", "]", "{", "}", ",", ":", " ", "&a ", "*a", "!!python/object:os.system ", "!!binary ",
                          "1e400", "-1e400", "1" + "0" * 400, "9" * 5000, "nan", ".inf", "-1", "0", "1.5", "0x1F",
                          "1_000", "true", "null", "~", "2024-13-01", "2024-01-01", "'", '"', "#", "- ", "\n",
                          "transe", "gcn", "rgcn", "1vsall", "ce", "cuda", "10,5", "0,0", "?", "%", "@"])
YAML_TEXT = st.one_of(st.lists(TOKENS, max_size=8).map("".join), st.text(max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10),
                    st.sampled_from(["transe", "rotate", "gcn", "rgcn", "compgcn", "1vsall", "kvsall", "ce", "bce",
                                     "auto", "cpu", "10,5", "-1", "1e-3", "0"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=3), max_leaves=6)
SECTIONS = st.dictionaries(st.one_of(st.sampled_from(list(KNOWN)), st.text(max_size=8)),
                           st.one_of(st.dictionaries(KEYS.map(lambda k: k.rpartition(".")[2]), VALUES, max_size=4),
                                     VALUES), max_size=4)


# mostly known keys with small or typical values, which reach the checks of combinations
KNOWN_VALUES = st.dictionaries(st.sampled_from(SECTION_KEYS), st.one_of(SCALARS, st.integers(-2, 3)), max_size=8).map(nested)


def accepted_or_config_error(parse, *args):
    try:
        return parse(*args)
    except ConfigError as error:
        assert "\n" not in str(error) and len(str(error)) < 2000, str(error)[:300]


@settings(max_examples=60, deadline=None)
@given(assignments=st.lists(st.tuples(KEYS, YAML_TEXT).map("=".join), max_size=4) | st.lists(st.text(max_size=10),
                                                                                             max_size=2))
def test_set_assignments_are_accepted_or_a_config_error(assignments):
    config = accepted_or_config_error(resolve_config, {}, assignments)
    assert config is None or isinstance(config, Config)


@settings(max_examples=60, deadline=None)
@example(values={"relational": {"encoder": "rgcn", "num_blocks": 0}}, assignments=[])  # was a ZeroDivisionError
@given(values=SECTIONS | KNOWN_VALUES, assignments=st.lists(st.tuples(st.sampled_from(SECTION_KEYS), VALUES.map(str)).map("=".join),
                                             max_size=2))
def test_config_values_are_accepted_or_a_config_error(values, assignments):
    accepted_or_config_error(resolve_config, values, assignments)


@settings(max_examples=60, deadline=None)
@given(text=st.lists(st.one_of(YAML_TEXT, st.sampled_from(["model:\n  ", "training:\n  ", "lr: ", "dim: "])),
                     max_size=6).map("".join))
def test_config_and_space_files_are_read_or_a_config_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.yaml"
        path.write_text(text, encoding="utf-8")
        values = accepted_or_config_error(read_yaml, path)
    if values is not None:
        accepted_or_config_error(resolve_config, values)
        accepted_or_config_error(parse_space, values)


@settings(max_examples=60, deadline=None)
@given(space=st.dictionaries(KEYS, st.one_of(VALUES, st.fixed_dictionaries(
    {"type": st.sampled_from(["int", "float", "str"]), "low": SCALARS, "high": SCALARS},
    optional={"log": SCALARS})), max_size=3))
def test_search_spaces_are_accepted_or_a_config_error(space):
    parsed = accepted_or_config_error(parse_space, space)
    if parsed is not None:
        accepted_or_config_error(parsed.check, {"model": {"name": "distmult"}}, "space")

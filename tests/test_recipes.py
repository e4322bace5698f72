"""Shipped recipes and search spaces by name, from a checkout and from any directory."""

import pytest

from kgtool.config import Config
from kgtool.errors import ConfigError
from kgtool.hyperparameter_search import default_space
from kgtool.recipes import configs_folder, recipe_names, recipe_path, space_names, space_path
from tests.conftest import REPO


def test_the_checkout_serves_its_configs_folder():
    assert configs_folder() == REPO / "configs"
    assert "umls/complex" in recipe_names() and "search/distmult" not in recipe_names()
    assert {"distmult", "transe-1vsall", "gcn"} <= set(space_names())


@pytest.mark.parametrize("given", ["umls/complex", "umls/complex.yaml", "configs/umls/complex.yaml"])
def test_a_recipe_by_name_from_any_directory(given, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the README's checkout-relative path works outside the checkout too
    assert recipe_path(given) == REPO / "configs" / "umls" / "complex.yaml"
    assert Config.load(given).model.name == "complex"


@pytest.mark.parametrize("given", ["distmult", "search/distmult", "configs/search/distmult.yaml"])
def test_a_search_space_by_name(given, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert space_path(given) == REPO / "configs" / "search" / "distmult.yaml" == default_space("distmult")


def test_an_existing_file_wins_over_a_name(tmp_path, monkeypatch):
    (tmp_path / "umls").mkdir()
    (tmp_path / "umls" / "complex.yaml").write_text("model:\n  name: transe\n")
    monkeypatch.chdir(tmp_path)
    assert Config.load("umls/complex.yaml").model.name == "transe"


def test_an_unknown_name_suggests_the_close_ones():
    with pytest.raises(ConfigError, match=r"config 'umls/complx' is neither a file nor a shipped name "
                                          r"\(did you mean 'umls/complex'"):
        recipe_path("umls/complx")
    with pytest.raises(ConfigError, match=r"search space 'distmul' .* \(did you mean 'distmult'\?\)"):
        space_path("distmul")

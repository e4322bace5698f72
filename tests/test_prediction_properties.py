"""Property tests of the query and triple files of ``predict`` and ``evaluate --triples``: any
file is read, answered and scored, or refused with a KGToolError; never another exception."""

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtool.errors import KGToolError
from kgtool.kge.task import KGETask
from kgtool.prediction import Predictor, read_queries
from tests.conftest import random_dataset, small_config

FIELDS = st.one_of(st.sampled_from(["e0", "e1", "e5", "r0", "r1", "?", "", " e1 ", "e9", "head", "relation", "tail"]),
                   st.text(max_size=6))
LINES = st.lists(st.lists(FIELDS, min_size=1, max_size=4).map("\t".join), max_size=5)
TEXT = st.builds(lambda mark, lines, newline: mark + newline.join(lines), st.sampled_from(["", "\ufeff"]), LINES,
                 st.sampled_from(["\n", "\r\n", "\r"]))
CONTENT = st.one_of(TEXT.map(lambda text: text.encode("utf-8")), st.binary(max_size=40))


@pytest.fixture(scope="module")
def predictor():
    dataset = random_dataset(num_entities=6, num_relations=2, num_triples=30)
    return Predictor(KGETask(small_config(model={"name": "distmult", "dim": 4}), dataset).model, dataset)


def read_and_use(predictor, path, asked):
    """Read ``path`` as queries (``asked``) or triples, then answer, score and rank what was read."""
    queries = read_queries(path, asked=asked)
    if asked:
        predictor.answer(queries, top=3, filter_known=True)
    else:
        predictor.score(queries)
        predictor.evaluate(queries)


@settings(max_examples=50, deadline=None)
@given(content=CONTENT, gzipped=st.booleans(), compressed=st.booleans(), asked=st.booleans())
def test_query_and_triple_files_are_used_or_a_kgtool_error(predictor, content, gzipped, compressed, asked):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("queries.tsv.gz" if gzipped else "queries.tsv")
        path.write_bytes(gzip.compress(content) if gzipped and compressed else content)
        try:
            read_and_use(predictor, path, asked)
        except KGToolError as error:
            assert "\n" not in str(error), str(error)

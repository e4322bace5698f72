"""Node-graph readers: Planetoid from local raw files, networkx and CSV, and their errors."""

from pathlib import Path

import networkx as nx
import pytest
import torch

from kgtool.data.graphs import from_networkx_graph, load_graph
from kgtool.errors import DataError

SHARED_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KGTOOL_CACHE", str(tmp_path / "cache"))


@pytest.mark.skipif(not (SHARED_DATA / "Cora" / "raw").is_dir(), reason="shared/data/Cora/raw is absent")
def test_cora_reads_local_raw_files_with_the_public_split(monkeypatch):
    monkeypatch.setenv("KGTOOL_DATA", str(SHARED_DATA))
    data = load_graph("cora", None)
    assert (data.num_nodes, data.num_edges, data.num_features) == (2708, 10556, 1433)
    assert (int(data.train_mask.sum()), int(data.val_mask.sum()), int(data.test_mask.sum())) == (140, 500, 1000)
    assert int(data.y.max()) + 1 == 7


def test_missing_planetoid_folder_and_unknown_name(tmp_path):
    with pytest.raises(DataError, match="Cora/raw"):
        load_graph("cora", str(tmp_path))
    with pytest.raises(DataError, match="neither a known name"):
        load_graph("no-such-graph", None)


def write_csv_graph(folder, nodes, edges):
    folder.mkdir(exist_ok=True)
    (folder / "nodes.csv").write_text(nodes)
    (folder / "edges.csv").write_text(edges)
    return folder


def test_csv_folder_builds_features_labels_and_splits(tmp_path):
    folder = write_csv_graph(tmp_path / "g", "id,label,split,f1,f2\na,cat,train,1,0\nb,dog,valid,0,1\nc,cat,test,1,1\n",
                             "source,target\na,b\nc,a\n")
    data = load_graph(str(folder), None)
    assert torch.equal(data.x, torch.tensor([[1.0, 0], [0, 1], [1, 1]]))
    assert data.y.tolist() == [0, 1, 0]
    assert data.edge_index.tolist() == [[0, 2], [1, 0]]
    assert data.train_mask.tolist() == [True, False, False] and data.test_mask.tolist() == [False, False, True]


@pytest.mark.parametrize("nodes,edges,message", [
    ("id,label,f1\na,0,1\nb,1,2\n", "source,target\na,z\n", r"edges.csv, line 2: unknown node 'z'"),
    ("id,label,f1\na,0,1\nb,1\n", "source,target\n", r"nodes.csv, line 3: 2 columns, the header has 3"),
    ("id,label,f1\na,0,1\nb,,2\n", "source,target\n", r"nodes.csv, line 3: node 'b' has no label"),
    ("id,f1\na,1\n", "source,target\n", r"nodes.csv, line 1: header lacks column 'label'"),
    ("id,label,split\na,0,train\nb,1,dev\n", "source,target\n", r"nodes.csv, line 3: split 'dev'"),
])
def test_csv_errors_name_file_line_and_node(tmp_path, nodes, edges, message):
    folder = write_csv_graph(tmp_path / "g", nodes, edges)
    with pytest.raises(DataError, match=message):
        load_graph(str(folder), None)


def test_networkx_graph_and_its_errors():
    graph = nx.Graph()
    graph.add_node("u", x=[1.0, 2.0], y=1, split="train")
    graph.add_node("v", x=[0.0, 1.0], y=0, split="test")
    graph.add_edge("u", "v")
    data = from_networkx_graph(graph)
    assert data.edge_index.tolist() == [[0, 1], [1, 0]]  # undirected: both directions
    assert data.y.tolist() == [1, 0] and data.train_mask.tolist() == [True, False]
    graph.add_node("w", x=[1.0], y=0, split="train")
    with pytest.raises(DataError, match="node 'w' has 1 features"):
        from_networkx_graph(graph)
    graph.nodes["w"]["x"] = [1.0, 1.0]
    del graph.nodes["w"]["y"]
    with pytest.raises(DataError, match="node 'w' has no 'y'"):
        from_networkx_graph(graph)


def test_node_graph_names_in_any_case_and_a_misspelt_one_gets_did_you_mean(tmp_path):
    from kgtool.data.graphs import load_graph

    with pytest.raises(DataError, match=r"graph 'corra' is neither a known name \(did you mean 'cora'\?\)"):
        load_graph("corra")

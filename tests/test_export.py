"""Export: rows match the model's representations id by id, labels line up, files read back."""

import numpy as np
import pytest
import torch

import kgtool
from kgtool.cli.main import main
from kgtool.data.inductive import write_folder
from tests.conftest import random_dataset, small_config


def read_labels(path):
    lines = path.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(i) for i in range(len(lines))]
    return [line.split("\t", 1)[1] for line in lines]


@pytest.fixture(scope="module")
def complex_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    write_folder(random_dataset(), folder / "kg")  # a folder, so that `kgtool export` loads it again
    config = small_config(model={"name": "complex", "dim": 6}, data={"dataset": str(folder / "kg")},
                          training={"epochs": 1, "scoring": "1vsall", "loss": "ce", "reciprocal": True})
    return kgtool.fit(config, output=folder / "run")


def test_complex_rows_are_real_then_imaginary_parts_by_id(complex_run, tmp_path):
    run, dim = complex_run, 6
    files = run.export(tmp_path, "npy")
    assert {f.name for f in files} == {"entities.tsv", "entity_embeddings.npy", "relations.tsv", "relation_embeddings.npy"}
    entities, rows = read_labels(tmp_path / "entities.tsv"), np.load(tmp_path / "entity_embeddings.npy")
    assert entities == run.dataset.entities and rows.shape == (run.dataset.num_entities, 2 * dim)
    with torch.no_grad():
        for i in range(len(entities)):
            z = run.model.entities(torch.tensor(i))  # (dim, 2)
            np.testing.assert_array_equal(rows[i, :dim], z[:, 0].numpy())
            np.testing.assert_array_equal(rows[i, dim:], z[:, 1].numpy())
    relations, relation_rows = read_labels(tmp_path / "relations.tsv"), np.load(tmp_path / "relation_embeddings.npy")
    assert relations == run.dataset.relations + [f"{r} (inverse)" for r in run.dataset.relations]
    with torch.no_grad():
        for j in range(len(relations)):
            z = run.model.relations(torch.tensor(j))
            np.testing.assert_array_equal(relation_rows[j], torch.cat([z[:, 0], z[:, 1]]).numpy())


def test_tsv_and_projector_files_give_the_same_rows_back(complex_run, tmp_path, capsys):
    rows, labels = complex_run.entity_embeddings()
    assert main(["export", str(complex_run.path), "--format", "tsv"]) == 0
    default = complex_run.path / "export"
    assert str(default / "entity_embeddings.tsv") in capsys.readouterr().out
    np.testing.assert_array_equal(np.loadtxt(default / "entity_embeddings.tsv", delimiter="\t", dtype=np.float32),
                                  rows.numpy())
    assert main(["export", str(complex_run.path), "--format", "projector", "--output", str(tmp_path)]) == 0
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "vectors.tsv", delimiter="\t", dtype=np.float32), rows.numpy())
    assert (tmp_path / "metadata.tsv").read_text().splitlines() == labels == complex_run.dataset.entities


def test_real_model_exports_its_weights_as_files(tmp_path):
    """DistMult's entity rows are its trained weight itself (a parameter), not a computed tensor."""
    run = kgtool.fit(small_config(model={"name": "distmult", "dim": 4}, training={"epochs": 1}),
                     output=tmp_path / "run", dataset=random_dataset())
    for style in ("npy", "tsv"):
        run.export(tmp_path / style, style)
    weight = run.model.entity_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(np.load(tmp_path / "npy" / "entity_embeddings.npy"), weight)
    np.testing.assert_array_equal(
        np.loadtxt(tmp_path / "tsv" / "entity_embeddings.tsv", delimiter="\t", dtype=np.float32), weight)


def test_encoder_runs_export_the_encoded_entities(tmp_path):
    dataset = random_dataset()
    text = tmp_path / "text.txt"
    text.write_text("".join(f"{e}\tabout {e} and word{i % 3}\n" for i, e in enumerate(dataset.entities)))
    config = small_config(model={"name": "distmult", "dim": 8}, training={"epochs": 1},
                          encoders={"text": str(text), "text_encoder": "bow", "dim": 8})
    run = kgtool.fit(config, output=tmp_path / "run", dataset=dataset)
    rows, labels = run.entity_embeddings()
    assert labels == dataset.entities
    run.model.eval()
    with torch.no_grad():
        encoded = run.model.entity_embeddings(torch.arange(dataset.num_entities))  # the encoder, id by id
    torch.testing.assert_close(rows, encoded)
    assert not torch.allclose(rows[0], rows[1])


def test_gnn_node_classification_exports_the_last_hidden_layer(tmp_path):
    folder = tmp_path / "graph"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    features = torch.randn(12, 3, generator=g)
    (folder / "nodes.csv").write_text("id,label,f0,f1,f2\n" + "".join(
        f"n{i},{i % 2},{','.join(f'{v:.4f}' for v in features[i].tolist())}\n" for i in range(12)))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"n{i},n{(i + 3) % 12}\n" for i in range(12)))
    config = small_config(model={"name": "gcn"}, data={"dataset": str(folder)}, gnn={"hidden_dim": 5},
                          training={"epochs": 2, "batch_size": 64})
    run = kgtool.fit(config, output=tmp_path / "run")
    rows, labels = run.entity_embeddings()
    assert labels == [str(i) for i in range(12)] and rows.shape == (12, 5)
    stack, data = run.model.encoder, run.dataset
    stack.eval()
    with torch.no_grad():
        hidden = torch.relu(stack.convs[0](data.x, data.edge_index))  # 2 layers: the one hidden layer
    torch.testing.assert_close(rows, hidden)
    assert run.relation_embeddings() is None
    files = run.export(tmp_path / "out", "npy")
    assert [f.name for f in files] == ["entities.tsv", "entity_embeddings.npy"]

"""kgtool fit pre-trains encoders that have an objective of their own (DDPM, VAE) on the items'
images before the main training: logged as phase pretrain, checkpointed, resumed exactly."""

import json
import os
import signal

import numpy as np
import pytest
import torch

import kgtool
from kgtool.encoders.diffusion import DiffusionEncoder
from kgtool.encoders.vae import VAEEncoder
from kgtool.run_folder import RunFolder


def graph_with_images(tmp_path, n=16):
    folder, images = tmp_path / "graph", tmp_path / "images"
    folder.mkdir(), images.mkdir()
    (folder / "nodes.csv").write_text("id,label\n" + "".join(f"n{i},{i % 2}\n" for i in range(n)))
    (folder / "edges.csv").write_text("source,target\n" + "".join(f"n{i},n{(i + 2) % n}\n" for i in range(n)))
    generator = np.random.default_rng(0)
    for i in range(n - 1):  # the last node has no image
        square = np.zeros((8, 8), dtype=np.uint8)
        row, col = generator.integers(0, 6, size=2)
        square[row:row + 3, col:col + 3] = 255
        np.save(images / f"{i}.npy", square)
    return folder, images


def image_config(folder, images, encoder, pretrain_epochs, epochs=2):
    return {"model": {"name": "gcn"}, "data": {"dataset": str(folder)},
            "encoders": {"images": str(images), "image_encoder": encoder, "dim": 4,
                         "pretrain_epochs": pretrain_epochs},
            "training": {"epochs": epochs, "progress": False, "checkpoint_every": 1}}


def the_encoder(run, kind):
    return next(m for m in run.model.modules() if isinstance(m, kind))


@pytest.mark.parametrize("encoder, kind", [("diffusion", DiffusionEncoder), ("vae", VAEEncoder)])
def test_fit_pretrains_on_the_encoders_own_objective_and_logs_it(tmp_path, encoder, kind):
    folder, images = graph_with_images(tmp_path)
    run = kgtool.fit(image_config(folder, images, encoder, 3), output=tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    pretraining = [r for r in records if r.get("phase") == "pretrain"]
    assert [r["epoch"] for r in pretraining] == [1, 2, 3] and records[:3] == pretraining
    assert pretraining[-1]["loss"] < pretraining[0]["loss"]  # its own objective went down
    assert [r["epoch"] for r in records[3:]] == [1, 2]
    # the same run without pretraining: the encoder's objective on the images is worse
    untrained = kgtool.fit(image_config(folder, images, encoder, 0), output=tmp_path / "plain")
    batch = torch.stack([torch.from_numpy(np.load(images / f"{i}.npy")).float()[None] / 255 for i in range(15)])

    def objective(r):
        with torch.no_grad():
            return the_encoder(r, kind).loss(batch, torch.Generator().manual_seed(0)).item()

    assert objective(run) < objective(untrained)
    assert not any(r.get("phase") for r in map(json.loads, (tmp_path / "plain" / "log.jsonl").read_text().splitlines()))


def test_pretraining_resumes_exactly_after_an_interrupt(tmp_path, monkeypatch):
    folder, images = graph_with_images(tmp_path)
    config = image_config(folder, images, "vae", 3, epochs=1)
    kgtool.fit(config, output=tmp_path / "reference")
    calls, original = {"n": 0}, VAEEncoder.loss

    def interrupting(self, batch, generator):
        calls["n"] += 1
        if calls["n"] == 1:  # during pretraining epoch 1: saved and stopped at its end
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, batch, generator)

    monkeypatch.setattr(VAEEncoder, "loss", interrupting)
    with pytest.raises(KeyboardInterrupt, match="after pretraining epoch 1"):
        kgtool.fit(config, output=tmp_path / "interrupted")
    monkeypatch.setattr(VAEEncoder, "loss", original)
    assert RunFolder(tmp_path / "interrupted").load_checkpoint()["pretraining"]["epoch"] == 1
    kgtool.fit(None, output=tmp_path / "interrupted", resume=True)
    reference = RunFolder(tmp_path / "reference").load_checkpoint()["model"]
    resumed = RunFolder(tmp_path / "interrupted").load_checkpoint()["model"]
    for key in reference:
        assert torch.equal(reference[key], resumed[key]), key
    logged = lambda run: [json.loads(line) for line in (tmp_path / run / "log.jsonl").read_text().splitlines()]
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("seconds", "examples_per_second")} for r in records]
    assert strip(logged("interrupted")) == strip(logged("reference"))

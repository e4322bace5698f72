"""Unsupervised pre-training on images, shared by the diffusion and VAE encoders.

An encoder with an objective of its own (:class:`Pretrainable`: DDPM's noise prediction, the
VAE's negative ELBO) is trained on it before it serves a downstream model: ``kgtool fit`` runs
:class:`EncoderPretraining` on the entities' or nodes' images for ``encoders.pretrain_epochs``
epochs before the main training (the training loop logs, checkpoints and resumes it), and a
library user can call :meth:`Pretrainable.pretrain` on any image tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

PRETRAIN_LR = 1e-3  # Adam's step size for the encoders' own objectives
PRETRAIN_BATCH_SIZE = 64  # images per pre-training step


class Pretrainable:
    """Adds ``pretrain`` to an encoder that defines ``loss(images, generator) -> scalar``."""

    def loss(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def pretrain_epoch(self, images: torch.Tensor, optimizer: torch.optim.Optimizer, generator: torch.Generator,
                       batch_size: int = PRETRAIN_BATCH_SIZE) -> float:
        """One pass over ``images`` ``(n, channels, h, w)`` in shuffled batches; returns the mean
        loss. Batches move to the encoder's device as they are taken."""
        device = next(self.parameters()).device
        total = 0.0
        for batch in torch.randperm(len(images), generator=generator).split(batch_size):
            loss = self.loss(images[batch].to(device), generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        return total / len(images)

    def pretrain(
        self, images: torch.Tensor, epochs: int = 10, batch_size: int = PRETRAIN_BATCH_SIZE, lr: float = PRETRAIN_LR,
        seed: int = 0
    ) -> list[float]:
        """Train all parameters with Adam on ``loss``; ``seed`` fixes shuffling and sampled noise.

        :param images: shape: (n, channels, h, w), values in [0, 1]
        :return: the mean loss of each epoch, ``epochs`` values
        """
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.train()
        losses = [self.pretrain_epoch(images, optimizer, generator, batch_size) for _ in range(epochs)]
        self.eval()
        return losses


@dataclass
class PretrainingJob:
    """One encoder to pre-train inside a model, with the images of the items that have some."""

    name: str
    encoder: Pretrainable
    images: torch.Tensor  # (n, channels, h, w)


def pretraining_jobs(model: nn.Module) -> list[PretrainingJob]:
    """The trainable :class:`Pretrainable` encoders of every multimodal embedding in ``model``,
    each with its modality's present images (a frozen encoder is left as it is)."""
    from kgtool.encoders.fusion import MultimodalEmbedding

    jobs = []
    for module in model.modules():
        if not isinstance(module, MultimodalEmbedding):
            continue
        for name, encoder in module.encoders.items():
            if isinstance(encoder, Pretrainable) and any(p.requires_grad for p in encoder.parameters()):
                values, present = module.inputs[name]
                jobs.append(PretrainingJob(name, encoder, values[present]))
    return jobs


class EncoderPretraining:
    """The pre-training phase of a run: every job's encoder trained on its own objective for
    ``epochs`` epochs, one Adam optimizer per encoder, all randomness from one generator seeded by
    ``seed``; its state (epoch, optimizers, generator) is checkpointed, so a resumed phase ends as
    an uninterrupted one."""

    def __init__(self, model: nn.Module, epochs: int, seed: int):
        self.jobs = pretraining_jobs(model) if epochs else []
        self.epochs = epochs if self.jobs else 0
        self.epoch = 0  # completed epochs
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizers = [torch.optim.Adam(job.encoder.parameters(), lr=PRETRAIN_LR) for job in self.jobs]

    @property
    def done(self) -> bool:
        return self.epoch >= self.epochs

    def run_epoch(self) -> dict:
        """One epoch of every job; returns the log record ``{"phase": "pretrain", "epoch", "loss",
        "<name>_loss"...}`` (the loss: the mean over the jobs)."""
        record = {"phase": "pretrain", "epoch": self.epoch + 1}
        losses = []
        for job, optimizer in zip(self.jobs, self.optimizers):
            job.encoder.train()
            losses.append(job.encoder.pretrain_epoch(job.images, optimizer, self.generator))
            record[f"{job.name}_loss"] = losses[-1]
        record["loss"] = sum(losses) / len(losses)
        self.epoch += 1
        return record

    def state(self) -> dict:
        return {"epoch": self.epoch, "generator": self.generator.get_state(),
                "optimizers": [optimizer.state_dict() for optimizer in self.optimizers]}

    def restore(self, state: dict | None) -> None:
        """Continue from :meth:`state` (None: a checkpoint written before pre-training existed)."""
        if state is None:
            self.epoch = self.epochs
            return
        self.epoch = state["epoch"]
        self.generator.set_state(state["generator"])
        for optimizer, saved in zip(self.optimizers, state["optimizers"]):
            optimizer.load_state_dict(saved)

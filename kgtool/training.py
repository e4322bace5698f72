"""The one training loop of kgtool: shuffle, batch, step, validate, keep the best, checkpoint.

It drives any *task* (KGE, GNN) that offers::

    model: torch.nn.Module
    headline_metric: str                      # key of evaluate()'s result to maximise
    num_examples() -> int
    loss(example_ids (b,), generator) -> scalar Tensor
    evaluate(split) -> dict[str, float]
    extra_state() -> dict                     # saved with the checkpoint (vocabularies...)
    full_batch: bool                          # optional: True takes all examples as one batch

All randomness after initialisation is a function of the checkpointed state, so a resumed run
ends with exactly the parameters of an uninterrupted one: shuffling, negatives and sampled
subgraphs come from one ``torch.Generator`` whose state is checkpointed with the epoch's
permutation and position; what draws from torch's global generator (dropout in GNNs and
encoders, PyG's compiled samplers) finds it reseeded before every batch from
``(seed, epoch, batch)``, a stream separate from the trainer's generator. Ctrl-C (or SIGTERM) is
honoured at the next batch boundary: the state is saved and ``KeyboardInterrupt`` raised.

Under ``torchrun`` (see :mod:`kgtool.distributed`) every rank walks the same permutation, takes
its share of each batch and lets DDP average the gradients; the loss of each share is weighted
by its size, so the update equals the one-process update of the whole batch. Ranks agree on
the loss and on stop requests after every batch, and only rank 0 writes.
"""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from contextlib import contextmanager

import torch
from torch import Tensor
from tqdm.auto import tqdm

from kgtool import distributed
from kgtool.config import Config
from kgtool.encoders.pretraining import EncoderPretraining
from kgtool.errors import CheckpointError, ConfigError, TrainingError
from kgtool.run_folder import RunFolder
from kgtool.tracking import Tracking
from kgtool.training_options import DEFAULT_BATCH_SIZE, OPTIMIZERS, SCHEDULERS

log = logging.getLogger("kgtool")
CHECKPOINT_FORMAT = 1


class StopTraining(Exception):
    """Raised by an ``on_validation`` callback to end training after this validation; the message says why."""


def resolve_device(name: str) -> torch.device:
    """``training.device`` as a torch device; one this machine lacks is a ConfigError naming those it has."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    available = available_devices()
    if name not in available and not (name == "cuda" and "cuda:0" in available):
        raise ConfigError(f"training.device={name} is not available here (available: {', '.join(available)})")
    return torch.device(name)


def available_devices() -> list[str]:
    """The devices this machine can compute on: ``cpu``, ``cuda:N`` per GPU, ``mps``."""
    cuda = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    return ["cpu", *cuda, *(["mps"] if torch.backends.mps.is_available() else [])]


def build_optimizer(model: torch.nn.Module, config: Config) -> torch.optim.Optimizer:
    """The configured optimizer; with sparse gradients Adam becomes SparseAdam (lazy moments:
    only rows in the batch move), while Adagrad and SGD take sparse gradients as they are."""
    t = config.training
    if t.sparse and t.optimizer == "adam":
        return torch.optim.SparseAdam(list(model.parameters()), lr=t.lr)
    return OPTIMIZERS[t.optimizer](model.parameters(), lr=t.lr, weight_decay=t.weight_decay)


def build_scheduler(optimizer: torch.optim.Optimizer, config: Config):
    """The configured learning-rate schedule, or None."""
    build = SCHEDULERS[config.training.lr_scheduler]
    return build(optimizer, config.training) if build else None


@contextmanager
def deferred_interrupts():
    """Turn the first SIGINT/SIGTERM into a flag checked between batches; a second SIGINT
    interrupts at once. Yields a function telling whether a stop was asked for."""
    requested = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def ask_to_stop(signum, frame):
        if requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        requested.append(signum)

    previous = {s: signal.signal(s, ask_to_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class Trainer:
    """Trains ``task.model`` as ``config.training`` says, writing into ``folder``.

    An optional ``on_validation(epoch, value)`` callback hears the headline validation metric after
    each validation; raising :class:`StopTraining` there ends training as early stopping does (the
    best model is kept and checkpointed). Hyperparameter search prunes trials this way. An optional
    ``on_epoch_end(record)`` hears each epoch's log.jsonl record (on rank 0). The trackers of
    ``training.trackers`` (:mod:`kgtool.tracking`) hear the same records.
    """

    def __init__(self, task, config: Config, folder: RunFolder | None = None, device: torch.device | None = None,
                 on_validation=None, on_epoch_end=None):
        self.task = task
        self.on_validation = on_validation
        self.on_epoch_end = on_epoch_end
        self.config = config
        self.training = config.training
        self.folder = folder
        self.device = device or resolve_device(self.training.device)
        task.model.to(self.device)
        self.step_loss = self._step_module()
        self.optimizer = self._build_optimizer()
        self.scheduler = build_scheduler(self.optimizer, config)
        seed = distributed.stream_seed(distributed.TRAINER_STREAM, self.training.seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0  # completed epochs
        self.batch = 0  # completed batches of the current epoch
        self.permutation = None  # example order of the current epoch
        self.epoch_loss = 0.0  # loss summed over the current epoch's examples so far
        # the best validation so far: {"metric", "epoch", "metrics", "model"}; "model" is a CPU copy
        # of the parameters (None once _finish has put them back into the model)
        self.best = None
        self.stale_validations = 0
        self.finished = False
        self.seconds = 0.0  # wall time of the last epoch's training batches
        self.tracking = Tracking(config, folder)
        pretrain_seed = distributed.stream_seed(distributed.PRETRAIN_STREAM, self.training.seed)
        self.pretraining = EncoderPretraining(task.model, config.encoders.pretrain_epochs, pretrain_seed)

    def _step_module(self) -> torch.nn.Module:
        """``module(example_ids, generator) -> loss``: the task's loss, in DDP when distributed."""
        return distributed.data_parallel(self.task, self.device, self.training.sparse)

    def _build_optimizer(self) -> torch.optim.Optimizer:
        return build_optimizer(self.task.model, self.config)

    # -- checkpoints -------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "format": CHECKPOINT_FORMAT,
            "config": self.config.to_dict(),
            "model": self.task.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "generator": self.generator.get_state(),
            "epoch": self.epoch,
            "batch": self.batch,
            "permutation": self.permutation,
            "epoch_loss": self.epoch_loss,
            "best": self.best,
            "stale_validations": self.stale_validations,
            "finished": self.finished,
            "extra": self.task.extra_state(),
            "pretraining": self.pretraining.state(),
        }

    def save(self) -> None:
        """Rank 0 writes the checkpoint; the others wait until it is on disk."""
        if distributed.is_main():
            self.folder.save_checkpoint(self.state())
        distributed.barrier()

    def restore(self, state: dict) -> None:
        if state.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{self.folder.checkpoint_path}: unknown checkpoint format {state.get('format')!r}")
        try:
            self.task.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None and state["scheduler"] is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            self.generator.set_state(state["generator"])
            self.pretraining.restore(state.get("pretraining"))
        except (KeyError, RuntimeError, ValueError) as error:
            raise CheckpointError(f"{self.folder.checkpoint_path} does not fit this run's config: "
                                  f"{str(error).splitlines()[0]}") from None
        self.epoch, self.batch, self.permutation = state["epoch"], state["batch"], state["permutation"]
        self.epoch_loss = state["epoch_loss"]
        # a state loaded on the CPU keeps the best model's copy there, never on the training device
        self.best, self.stale_validations, self.finished = state["best"], state["stale_validations"], state["finished"]
        saved = state.get("config", {}).get("training", {})
        if self.finished and any(saved.get(key) != getattr(self.training, key) for key in ("epochs", "patience")):
            self._reopen()
        if distributed.is_main():
            # epochs logged after this checkpoint will run again
            self.folder.truncate_log(self.epoch, self.pretraining.epoch)

    def _reopen(self) -> None:
        """Train a finished run on, as a resume that raised ``epochs`` or ``patience`` asks.

        The finished model holds the best validated parameters (see :meth:`_finish`), and training
        goes on from them; they are copied back as the best so far, and the validations without
        improvement still count against the new patience.
        """
        if self.epoch >= self.training.epochs:
            return
        self.finished = False
        if self.best is not None and self.best["model"] is None:
            self.best["model"] = cpu_copy(self.task.model)

    # -- the loop ----------------------------------------------------------------------------
    def train(self) -> None:
        try:
            with deferred_interrupts() as stop_requested:
                self._pretrain(stop_requested)
                while self.epoch < self.training.epochs and not self.finished:
                    self._train_epoch(stop_requested)
                    self._end_epoch()
        except BaseException:
            self.tracking.close(failed=True)
            raise
        self._finish()

    def _pretrain(self, stop_requested) -> None:
        """Train the encoders that have an objective of their own on it (``encoders.pretrain_epochs``),
        logging each epoch as ``phase: pretrain``; the phase's end is checkpointed, and Ctrl-C
        saves and stops at an epoch's end."""
        phase = self.pretraining
        while not phase.done:
            torch.manual_seed(distributed.stream_seed(distributed.PRETRAIN_STREAM, self.training.seed, phase.epoch))
            record = phase.run_epoch()
            if distributed.is_main():
                self.folder.append_log(record)
                log.info(f"pretraining epoch {record['epoch']}/{phase.epochs}: loss {record['loss']:.4f}")
            if phase.done or stop_requested():
                self.save()
            if stop_requested():
                raise KeyboardInterrupt(f"interrupted after pretraining epoch {phase.epoch}; state saved to "
                                        f"{self.folder.checkpoint_path}")

    def _train_epoch(self, stop_requested) -> None:
        n = self.task.num_examples()
        size = self.training.batch_size or (n if getattr(self.task, "full_batch", False) else DEFAULT_BATCH_SIZE)
        if self.permutation is None:
            self.permutation = torch.randperm(n, generator=self.generator)
        num_batches = math.ceil(n / size)
        if n - (num_batches - 1) * size < distributed.world_size():
            num_batches -= 1  # a rank would get no example; these few wait for the next epoch's order
        self.task.model.train()
        started = time.perf_counter()
        done_before = self.batch
        # a bar only on a terminal: in a log file its frames are noise; the epoch's log line stays
        shown = self.training.progress and distributed.is_main() and sys.stderr.isatty()
        bar = tqdm(total=num_batches, initial=self.batch, desc=f"epoch {self.epoch + 1}/{self.training.epochs}",
                   disable=not shown, leave=False, unit="batch")
        with bar:
            while self.batch < num_batches:
                ids = self.permutation[self.batch * size:(self.batch + 1) * size]
                # the same on every rank: a full-graph GNN then draws one process's dropout masks
                torch.manual_seed(distributed.stream_seed(distributed.GLOBAL_STREAM, self.training.seed, self.epoch,
                                                          self.batch))
                value, stop = self._step(ids, stop_requested)
                self.epoch_loss += value * len(ids)
                self.batch += 1
                seconds = time.perf_counter() - started
                rate = min(self.batch * size, n) - done_before * size
                bar.set_postfix(loss=f"{value:.4f}", ex_per_s=f"{rate / max(seconds, 1e-9):,.0f}")
                bar.update()
                if stop:
                    self.save()
                    raise KeyboardInterrupt(f"interrupted at epoch {self.epoch + 1}, batch {self.batch}; "
                                            f"state saved to {self.folder.checkpoint_path}")
        self.seconds = time.perf_counter() - started
        # an update may also overflow to inf without an error (CUDA's foreach optimizers): the next
        # batch's loss shows it, but after an epoch's last batch nothing would before the checkpoint
        if not all(torch.isfinite(p).all() for p in self.task.model.parameters()):
            raise self._diverged("the parameters became non-finite", self.batch)

    def step(self, example_ids: Tensor) -> float:
        """One optimisation step on the training examples ``example_ids`` ``(b,)``: loss, backward,
        update. Returns the batch's mean loss (over all ranks under ``torchrun``); a non-finite loss
        is a TrainingError and leaves the parameters as they were. Benchmarks time this."""
        return self._step(example_ids, lambda: False)[0]

    def _step(self, ids: Tensor, stop_requested) -> tuple[float, bool]:
        """:meth:`step`, also telling whether any rank was asked to stop."""
        loss, value, stop = self._batch_loss(ids, stop_requested)
        if not math.isfinite(value):
            raise self._diverged(f"loss became {value}", self.batch + 1)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self._update()
        return value, stop

    def _batch_loss(self, ids: Tensor, stop_requested) -> tuple[Tensor, float, bool]:
        """This process's loss of batch ``ids`` ``(b,)``, the batch's mean loss over all ranks,
        and whether any rank was asked to stop.

        A rank's loss is the mean over its share times ``world · share / b``, so that DDP's
        average of the gradients is the gradient of the whole batch's mean loss.
        """
        if not distributed.is_distributed():
            loss = self.step_loss(ids, self.generator)
            return loss, loss.item(), stop_requested()
        share = distributed.shard(ids)
        generator = distributed.batch_generator(self.generator, self.training.seed, self.epoch, self.batch)
        loss = self.step_loss(share, generator) * (len(share) * distributed.world_size() / len(ids))
        loss_sum, stops = distributed.sum_over_ranks([loss.item(), float(stop_requested())])
        return loss, loss_sum / distributed.world_size(), stops > 0

    def _end_epoch(self) -> None:
        n = self.task.num_examples()
        record = {"epoch": self.epoch + 1, "loss": self.epoch_loss / n, "seconds": round(self.seconds, 3),
                  "examples_per_second": round(n / max(self.seconds, 1e-9), 1),
                  "lr": self.optimizer.param_groups[0]["lr"]}
        self.epoch += 1
        self.batch, self.permutation, self.epoch_loss = 0, None, 0.0
        if self.scheduler is not None:
            self.scheduler.step()
        if self.epoch % self.training.eval_every == 0 or self.epoch == self.training.epochs:
            record["valid"] = self._validate()
            self._tell_validation(record)
        if distributed.is_main():
            self.folder.append_log(record)
            self.tracking.log_epoch(record)
            if self.on_epoch_end is not None:
                self.on_epoch_end(record)
            log.info(_describe_epoch(record, self.task.headline_metric))
        if self.epoch % self.training.checkpoint_every == 0:
            self.save()

    def _validate(self) -> dict:
        """The validation metrics' headline numbers, for the log; keeps the best model's all."""
        metrics = self.task.evaluate("valid")
        value = metrics[self.task.headline_metric]
        if self.best is None or value > self.best["metric"]:
            self.best = {"metric": value, "epoch": self.epoch, "metrics": metrics, "model": cpu_copy(self.task.model)}
            self.stale_validations = 0
        else:
            self.stale_validations += 1
            if self.training.patience and self.stale_validations >= self.training.patience:
                log.info(f"early stopping: valid {self.task.headline_metric} has not improved on "
                         f"{self.best['metric']:.4f} (epoch {self.best['epoch']}) for {self.stale_validations} validations")
                self.finished = True
        return {k: v for k, v in metrics.items() if not isinstance(v, dict)}

    def _tell_validation(self, record: dict) -> None:
        """Give ``on_validation`` the headline metric; a StopTraining it raises ends training here."""
        if self.on_validation is None:
            return
        try:
            self.on_validation(self.epoch, record["valid"][self.task.headline_metric])
        except StopTraining as reason:
            log.info(f"training stopped after epoch {self.epoch}: {reason}")
            record["stopped"] = str(reason)
            self.finished = True

    def _finish(self) -> None:
        """Keep the best validated model, and write the final checkpoint."""
        if self.best is not None and self.best["model"] is not None:
            self.task.model.load_state_dict(self.best["model"])
            self.best["model"] = None  # the model holds it now; the final checkpoint needs no second copy
        self.finished = True
        self.save()

    def _update(self) -> None:
        """The optimizer's update; one beyond float32 (a huge lr or weight decay) is a TrainingError,
        like a non-finite loss, instead of torch's overflow error from inside the optimizer."""
        try:
            self.optimizer.step()
        except RuntimeError as error:
            if "overflow" not in str(error):
                raise
            raise self._diverged("the parameter update overflowed float32", self.batch + 1) from None

    def _diverged(self, what: str, batch: int) -> TrainingError:
        """The error that stops training at ``batch`` (from 1) of this epoch; the checkpoint on disk is the last good one."""
        if self.folder is not None and self.folder.has_checkpoint():
            kept = f"The last good checkpoint, {self.folder.checkpoint_path}, is kept."
        else:
            kept = "No checkpoint had been written yet."
        return TrainingError(f"{what} at epoch {self.epoch + 1}, batch {batch}; training stopped. {kept} "
                             f"Try a lower training.lr or a regularizer.")


def cpu_copy(model: torch.nn.Module) -> dict[str, Tensor]:
    """A copy of ``model``'s state on the CPU (the best model's: never a second copy on the device)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _describe_epoch(record: dict, headline: str) -> str:
    text = f"epoch {record['epoch']}: loss {record['loss']:.4f}, {record['seconds']:.1f}s"
    if "valid" in record:
        text += f", valid {headline} {record['valid'][headline]:.4f}"
    return text

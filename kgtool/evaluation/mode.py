"""The one way kgtool switches a model to evaluation: ``with evaluation_mode(model): ...``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn


@contextmanager
def evaluation_mode(*models: nn.Module) -> Iterator[None]:
    """Run the block with ``models`` in eval mode (no dropout, batch-norm statistics fixed) and
    without gradients; afterwards, also after an error, every submodule has its own training
    flag back (a frozen encoder inside a training model stays in eval mode).

    Several models may be given, e.g. a scoring wrapper and the model it wraps: each one's
    flags are those it had before the block.
    """
    flags = [(module, module.training) for model in models for module in model.modules()]
    for model in models:
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for model in models:
            model.train(dict(flags)[model])  # models may react to train() (KGEModel drops its cache)
        for module, flag in flags:
            module.training = flag

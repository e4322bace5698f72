"""Knowledge-graph embedding models: score functions, the model, negatives, losses, the task."""

from kgtool.kge.interactions import (INTERACTIONS, complex_interaction, distmult_interaction, interaction,
                                     rotate_interaction, transe_interaction)
from kgtool.kge.model import KGEModel

__all__ = ["INTERACTIONS", "KGEModel", "complex_interaction", "distmult_interaction", "interaction", "rotate_interaction",
           "transe_interaction"]

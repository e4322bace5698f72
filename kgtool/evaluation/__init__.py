"""Evaluation: filtered rank-based link-prediction metrics."""

from kgtool.evaluation.ranking import Ranks, evaluate_link_prediction, filtered_ranks, rank_metrics

__all__ = ["Ranks", "evaluate_link_prediction", "filtered_ranks", "rank_metrics"]

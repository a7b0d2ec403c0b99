"""Training pipeline for the sgai learned image codec (mean-scale hyperprior)."""

from .model import MeanScaleHyperprior  # noqa: F401

__all__ = ["MeanScaleHyperprior"]

"""Autoregressive likelihood models for sequences and source attribution."""
from .ar import AutoregressiveModel
from .count_ar import LogisticAR, PoissonAR
from .gaussian_ar import GaussianAR
from .markov import MarkovChain, MarkovChainResults
from .softmax import SoftmaxAR, SoftmaxARResults

__all__ = ["AutoregressiveModel", "GaussianAR", "PoissonAR", "LogisticAR", "MarkovChain",
           "MarkovChainResults", "SoftmaxAR", "SoftmaxARResults"]

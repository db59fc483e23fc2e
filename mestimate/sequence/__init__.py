"""Autoregressive likelihood models for sequences and source attribution."""
from .markov import MarkovChain, MarkovChainResults

__all__ = ["MarkovChain", "MarkovChainResults"]

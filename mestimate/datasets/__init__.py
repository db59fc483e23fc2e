"""Small data sets shipped with mestimate for examples, tests and benchmarks."""
from .nist import NIST_PROBLEMS, NistProblem, load_nist, log_relative_error

__all__ = ["NIST_PROBLEMS", "NistProblem", "load_nist", "log_relative_error"]

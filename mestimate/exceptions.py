"""Errors and warnings raised by mestimate.

Every error says what is wrong and what the user can do about it. Warnings are
issued where a result exists but is doubtful; the doubt is also recorded on the
results object (``results.warnings``).
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "MEstimateError",
    "DataError",
    "LossError",
    "IdentificationError",
    "PerfectSeparationError",
    "ConvergenceError",
    "ConvergenceWarning",
    "InferenceWarning",
    "check_option",
]


class MEstimateError(ValueError):
    """Base class of mestimate's errors (a ``ValueError``)."""


class DataError(MEstimateError):
    """Data contain NaN/inf, have the wrong shape, or do not line up."""


class LossError(MEstimateError):
    """A user-supplied loss, score or Hessian returned the wrong shape or non-finite values."""


class IdentificationError(MEstimateError):
    """The Hessian at the optimum is singular or indefinite: some direction is not identified."""


class PerfectSeparationError(IdentificationError):
    """A binary-response model's data are perfectly (or quasi-) separated."""


class ConvergenceError(MEstimateError):
    """The optimiser failed and no usable estimate exists."""


class ConvergenceWarning(UserWarning):
    """A result exists, but the optimiser did not meet its convergence criteria."""


class InferenceWarning(UserWarning):
    """A result exists, but its standard errors or approximations are doubtful."""


def check_option(name: str, value: object, allowed: Iterable[object]) -> object:
    """Return ``value`` if it is one of ``allowed``; otherwise raise a ValueError listing them.

    String comparison is case-insensitive; the canonical spelling from ``allowed`` is returned.

    Examples
    --------
    >>> check_option("method", "Newton", ["newton", "bfgs"])
    'newton'
    """
    allowed = list(allowed)
    if isinstance(value, str):
        for a in allowed:
            if isinstance(a, str) and a.lower() == value.lower():
                return a
    elif value in allowed:
        return value
    raise MEstimateError(
        f"unknown {name} {value!r}; allowed values are: " + ", ".join(repr(a) for a in allowed)
    )

"""mestimate: M-estimation with influence functions, leave-one-out, sandwich covariances
and source attribution, in the statsmodels family.

The public names are listed in ``__all__``; everything else is private.
"""
from .exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    DataError,
    IdentificationError,
    InferenceWarning,
    LossError,
    MEstimateError,
    PerfectSeparationError,
)
from .model import MEstimator
from .models import OLS, Huber, Logit, NonlinearLeastSquares, Poisson
from .results import MEstimatorResults
from .delta import DeltaMethodResults, delta_method
from .sequence import (
    AutoregressiveModel,
    GaussianAR,
    LogisticAR,
    MarkovChain,
    PoissonAR,
    SoftmaxAR,
)

__version__ = "0.1.0"

__all__ = [
    "MEstimator",
    "MEstimatorResults",
    "OLS",
    "Logit",
    "Poisson",
    "Huber",
    "NonlinearLeastSquares",
    "MarkovChain",
    "SoftmaxAR",
    "AutoregressiveModel",
    "GaussianAR",
    "PoissonAR",
    "LogisticAR",
    "delta_method",
    "DeltaMethodResults",
    "MEstimateError",
    "DataError",
    "LossError",
    "IdentificationError",
    "PerfectSeparationError",
    "ConvergenceError",
    "ConvergenceWarning",
    "InferenceWarning",
]

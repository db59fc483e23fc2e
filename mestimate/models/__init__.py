"""Built-in models with analytic derivatives."""
from .glm import Logit, Poisson
from .linear import OLS
from .nls import NonlinearLeastSquares

__all__ = ["OLS", "Logit", "Poisson", "NonlinearLeastSquares"]

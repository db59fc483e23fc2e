"""Built-in models with analytic derivatives."""
from .glm import Logit, Poisson
from .huber import Huber
from .linear import OLS
from .nls import NonlinearLeastSquares

__all__ = ["Huber", "OLS", "Logit", "Poisson", "NonlinearLeastSquares"]

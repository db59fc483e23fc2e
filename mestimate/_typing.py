"""Array aliases and the Literal option types used across mestimate."""
from __future__ import annotations

from typing import Literal, Union

import numpy as np
import numpy.typing as npt
import pandas as pd

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.floating]
DataLike = Union[np.ndarray, pd.DataFrame, dict]

CovType = Literal[
    "nonrobust", "HC0", "sandwich", "HC1", "HC2", "HC3", "cluster", "HAC", "bootstrap"
]
LooMethod = Literal["ij", "newton", "exact"]
Missing = Literal["raise", "drop", "none"]
OptMethod = Literal["newton", "trust-region", "bfgs"]

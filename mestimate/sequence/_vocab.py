"""Tokenisation and vocabularies shared by the sequence models.

A :class:`Vocabulary` maps symbols (characters, or words) to integer codes
0..V−1 and back, and raises a clear error for a symbol outside the alphabet.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..exceptions import DataError

__all__ = ["Vocabulary", "tokenize", "as_documents"]

_WORD_RE = re.compile(r"\w+|[^\w\s]|\s+")


def tokenize(text: str | Sequence, level: str = "char") -> list:
    """Split ``text`` into tokens.

    ``level="char"``: characters; ``level="word"``: runs of word characters, single
    punctuation marks and runs of white space (so that joining the tokens gives the text
    back). A list or tuple is returned unchanged (already tokenised).

    Examples
    --------
    >>> tokenize("ab c", "char")
    ['a', 'b', ' ', 'c']
    >>> tokenize("we must, never", "word")
    ['we', ' ', 'must', ',', ' ', 'never']
    """
    if isinstance(text, (list, tuple)):
        return list(text)
    if not isinstance(text, str):
        raise DataError(f"expected a string or a list of tokens, got {type(text).__name__}")
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD_RE.findall(text)
    raise DataError(f"unknown tokenisation level {level!r}; allowed values are: 'char', 'word'")


def as_documents(sequences) -> tuple[list[str], list]:
    """Normalise a corpus to ``(names, sequences)``.

    Accepts a dict or Series (keys/index are the document names), or a list (names
    ``"doc0"``, ``"doc1"``, ...). Each sequence is a string or a list of tokens.

    Examples
    --------
    >>> as_documents({"a": "xy", "b": "z"})
    (['a', 'b'], ['xy', 'z'])
    >>> as_documents(["xy", "z"])[0]
    ['doc0', 'doc1']
    """
    if isinstance(sequences, pd.Series):
        names, seqs = [str(i) for i in sequences.index], list(sequences.values)
    elif isinstance(sequences, Mapping):
        names, seqs = [str(k) for k in sequences.keys()], list(sequences.values())
    elif isinstance(sequences, (str, bytes)):
        raise DataError("expected a collection of sequences (one per document), got a single string;"
                        " wrap it in a list: [text]")
    elif isinstance(sequences, Iterable):
        seqs = list(sequences)
        names = [f"doc{i}" for i in range(len(seqs))]
    else:
        raise DataError(f"expected a list, dict or Series of sequences, got {type(sequences).__name__}")
    if not seqs:
        raise DataError("the corpus is empty: pass at least one sequence")
    if len(set(names)) != len(names):
        raise DataError("document names must be unique")
    return names, seqs


class Vocabulary:
    """An ordered alphabet of symbols with integer codes.

    Parameters
    ----------
    symbols : iterable
        The alphabet; order fixes the codes. Duplicates are an error.

    Examples
    --------
    >>> v = Vocabulary.from_sequences(["abba", "cab"])
    >>> v.symbols
    ['a', 'b', 'c']
    >>> v.encode("cab").tolist()
    [2, 0, 1]
    >>> v.decode([1, 0])
    ['b', 'a']
    """

    def __init__(self, symbols: Iterable):
        self.symbols = list(symbols)
        self._index = {s: i for i, s in enumerate(self.symbols)}
        if len(self._index) != len(self.symbols):
            raise DataError("the alphabet contains duplicate symbols")
        if not self.symbols:
            raise DataError("the alphabet is empty")

    @classmethod
    def from_sequences(cls, sequences: Iterable[Sequence]) -> "Vocabulary":
        """The sorted set of symbols occurring in ``sequences``."""
        seen: set = set()
        for s in sequences:
            seen.update(s)
        return cls(sorted(seen, key=lambda x: (str(type(x)), x)))

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, symbol) -> bool:
        return symbol in self._index

    def __repr__(self) -> str:
        head = "".join(map(str, self.symbols[:20])) if all(isinstance(s, str) and len(s) == 1
                                                         for s in self.symbols[:20]) else self.symbols[:5]
        return f"Vocabulary(size={len(self)}, symbols={head!r}{'...' if len(self) > 20 else ''})"

    def encode(self, seq: Sequence, *, what: str = "sequence") -> np.ndarray:
        """Integer codes of ``seq``; unknown symbols raise :class:`DataError` naming them."""
        try:
            return np.fromiter((self._index[s] for s in seq), dtype=np.int64, count=len(seq))
        except KeyError:
            bad = sorted({repr(s) for s in seq if s not in self._index})
            raise DataError(
                f"{what} contains symbols outside the model's alphabet: {', '.join(bad[:10])}"
                f"{' ...' if len(bad) > 10 else ''}; the alphabet has {len(self)} symbols"
                " (pass alphabet= when fitting to include them)"
            ) from None

    def decode(self, codes: Iterable[int]) -> list:
        """Symbols of integer ``codes``."""
        return [self.symbols[int(c)] for c in codes]

"""Safe arithmetic expressions in parameter names, for the delta method.

An expression such as ``"hp / wt"`` or ``"lag1 / (1 - lag1 - lag2)"`` is parsed once
with :mod:`ast`, checked against a whitelist, and turned into a plain Python callable
of the parameter vector. Nothing is ever passed to ``eval`` or ``exec``.

The rule for names
------------------
* A plain identifier (``hp``, ``lag1``, ``x_2``) is a parameter name.
* Any parameter name can be quoted with backticks, ```C(industry)[T.b]``` or
  ```Intercept``` — needed for names that are not Python identifiers (dots,
  spaces, brackets, parentheses as produced by patsy). ``Q("...")`` (patsy's quoting
  function) is accepted as well. A backtick cannot occur inside a quoted name.
* An expression that is exactly one parameter name needs no quoting at all:
  ``"C(industry)[T.b]"`` on its own means that parameter.
* ``pi`` and ``e`` are the constants unless a parameter has that name (parameters win).
  Function names are looked up only in call position, so a parameter called ``exp``
  still works as a name.

Allowed syntax: numbers, names, ``+ - * / **`` (``^`` is rejected with a hint, since
in Python it is not a power), unary ``+``/``-``, parentheses, calls of the functions in
:data:`FUNCTIONS`, and a top-level tuple or list for a vector-valued expression
(``"b1/b2, exp(b3)"``). Evaluation works on complex parameter vectors so that
Jacobians can be taken by complex step; ``abs`` is allowed but not complex-safe (the
derivative code then falls back to central differences).
"""
from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import numpy as np

from .exceptions import MEstimateError

__all__ = ["FUNCTIONS", "CONSTANTS", "CompiledExpression", "compile_expression"]

_MAX_LEN = 10_000


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(x):
    return np.log(x / (1.0 - x))


#: Functions an expression may call, by name (all elementwise numpy functions).
FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp, "log": np.log, "log10": np.log10, "log2": np.log2,
    "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "square": np.square,
    "power": np.power, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "arctanh": np.arctanh,
    "expit": _expit, "logistic": _expit, "logit": _logit, "abs": np.abs,
}
_N_ARGS = {"power": 2}

#: Named constants (a parameter of the same name takes precedence).
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINOPS: dict[type, Callable] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
    ast.Div: np.divide, ast.Pow: np.power,
}
_UNARY: dict[type, Callable] = {ast.USub: np.negative, ast.UAdd: np.positive}


class _Source:
    """The expression with backtick-quoted names rewritten as ``Q("...")``.

    Keeps the position map so that error messages and labels quote the user's text.
    """

    def __init__(self, text: str) -> None:
        if text.count("`") % 2:
            raise MEstimateError(
                f"unbalanced backtick in expression {text!r}: quote a name as `name`"
            )
        parts, spans, pos, out_len = [], [], 0, 0
        pieces = text.split("`")
        for i, piece in enumerate(pieces):
            if i % 2 == 0:
                parts.append(piece)
                pos += len(piece)
                out_len += len(piece)
            else:
                rep = f"Q({piece!r})"
                spans.append((out_len, out_len + len(rep), pos, pos + len(piece) + 2))
                parts.append(rep)
                pos += len(piece) + 2
                out_len += len(rep)
        self.original = text
        self.rewritten = "".join(parts)
        self._spans = spans

    def _to_original(self, p: int, end: bool) -> int:
        shift = 0
        for s0, s1, o0, o1 in self._spans:
            if (p < s0) if not end else (p <= s0):
                break
            if not end and p < s1:
                return o0
            if end and p <= s1:
                return o1
            shift = o1 - s1
        return p + shift

    def segment(self, node: ast.AST) -> str:
        """The user's text of ``node`` (backticks restored)."""
        a = self._to_original(node.col_offset, end=False)
        b = self._to_original(node.end_col_offset, end=True)
        return self.original[a:b].strip()


class CompiledExpression:
    """A checked expression: call it with a parameter vector to get an ``(m,)`` array.

    Attributes
    ----------
    names : list of str
        The text of each component (labels for results).
    param_names : list of str
        The parameter names the vector passed to ``__call__`` is ordered by.
    """

    def __init__(self, names: list[str], funcs: list[Callable], param_names: list[str]):
        self.names = names
        self.param_names = param_names
        self._funcs = funcs

    def __call__(self, params) -> np.ndarray:
        theta = np.asarray(params)
        if theta.shape != (len(self.param_names),):
            raise MEstimateError(
                f"expression expects a parameter vector of length {len(self.param_names)} "
                f"({', '.join(self.param_names[:8])}{', ...' if len(self.param_names) > 8 else ''}),"
                f" got shape {theta.shape}"
            )
        vals = [np.asarray(f(theta)) for f in self._funcs]
        return np.stack([np.reshape(v, ()) for v in vals])

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"CompiledExpression({self.names!r})"


class _Compiler:
    """Walks the AST once and returns closures; every node type not listed is refused."""

    def __init__(self, source: _Source, index: dict[str, int]) -> None:
        self.src = source
        self.index = index

    def fail(self, node: ast.AST, what: str, hint: str = "") -> MEstimateError:
        names = list(self.index)
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        msg = (
            f"{what}: {_short(self.src.segment(node))!r} in expression "
            f"{_short(self.src.original)!r}. "
            f"{hint}Expressions may use numbers, parameter names, + - * / **, parentheses "
            f"and the functions {', '.join(sorted(FUNCTIONS))}. Parameter names: {shown} "
            "(quote names that are not identifiers with backticks, e.g. `C(a)[T.b]`)."
        )
        return MEstimateError(msg)

    def param(self, node: ast.AST, name: str) -> Callable:
        if name in self.index:
            j = self.index[name]
            return lambda t: t[j]
        if name in CONSTANTS:
            c = np.float64(CONSTANTS[name])
            return lambda t: c
        if name.startswith("__"):
            raise self.fail(node, "names starting with '__' are not allowed")
        hint = f"{name!r} is a function and must be called, e.g. {name}(x). " if (
            name in FUNCTIONS) else ""
        raise self.fail(node, "unknown parameter name", hint)

    def build(self, node: ast.AST) -> Callable:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise self.fail(node, "only real numbers are allowed as constants")
            c = np.float64(node.value)
            return lambda t: c
        if isinstance(node, ast.Name):
            return self.param(node, node.id)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.BitXor):
                raise self.fail(node, "'^' is not a power", "Use ** for powers, e.g. b**2. ")
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(node, "operator not allowed")
            left, right = self.build(node.left), self.build(node.right)
            return lambda t: op(left(t), right(t))
        if isinstance(node, ast.UnaryOp):
            op = _UNARY.get(type(node.op))
            if op is None:
                raise self.fail(node, "operator not allowed")
            operand = self.build(node.operand)
            return lambda t: op(operand(t))
        if isinstance(node, ast.Call):
            return self.call(node)
        hint = ("Quote a parameter name containing dots or brackets with backticks, "
                "e.g. `a.b`. ") if isinstance(node, (ast.Attribute, ast.Subscript)) else ""
        raise self.fail(node, f"syntax not allowed ({type(node).__name__})", hint)

    def call(self, node: ast.Call) -> Callable:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only calls of plain function names are allowed")
        fname = node.func.id
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, "keyword or starred arguments are not allowed")
        if fname == "Q":
            arg = node.args[0] if len(node.args) == 1 else None
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                raise self.fail(node, "Q() takes one quoted parameter name")
            return self.param(node, arg.value)
        func = FUNCTIONS.get(fname)
        if func is None:
            raise self.fail(node, f"unknown function {fname!r}")
        nargs = _N_ARGS.get(fname, 1)
        if len(node.args) != nargs:
            raise self.fail(node, f"{fname}() takes {nargs} argument(s), got {len(node.args)}")
        args = [self.build(a) for a in node.args]
        if nargs == 1:
            (a0,) = args
            return lambda t: func(a0(t))
        return lambda t: func(*(a(t) for a in args))


def _short(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 5] + "[...]"


def _parse(text: str, index: dict[str, int]) -> tuple[list[str], list[Callable]]:
    """Names and closures of the components of one expression string."""
    if not isinstance(text, str):
        raise MEstimateError(f"an expression must be a string, got {type(text).__name__}")
    if text.strip() in index:  # an unquoted single parameter name, e.g. "C(a)[T.b]"
        j = index[text.strip()]
        return [text.strip()], [lambda t: t[j]]
    if not text.strip():
        raise MEstimateError("empty expression: give e.g. 'b1 / b2'")
    if len(text) > _MAX_LEN:
        raise MEstimateError(f"expression longer than {_MAX_LEN} characters")
    if "\n" in text or "\r" in text:
        raise MEstimateError(f"expression {text!r} must be on one line")
    src = _Source(text.strip())
    try:
        tree = ast.parse(src.rewritten, mode="eval")
    except (RecursionError, MemoryError):
        raise MEstimateError(f"expression {_short(text)!r} is nested too deeply") from None
    except SyntaxError as exc:
        raise MEstimateError(
            f"cannot parse expression {_short(text)!r} ({exc.msg}); names that are not "
            "Python identifiers must be quoted with backticks, e.g. `C(a)[T.b]`"
        ) from None
    comp = _Compiler(src, index)
    body = tree.body
    elts = body.elts if isinstance(body, (ast.Tuple, ast.List)) else [body]
    if not elts:
        raise MEstimateError(f"expression {text!r} has no components")
    try:
        funcs = [comp.build(e) for e in elts]
    except RecursionError:
        raise MEstimateError(f"expression {_short(text)!r} is nested too deeply") from None
    return [src.segment(e) for e in elts], funcs


def compile_expression(
    expr: str | Sequence[str], param_names: Sequence[str]
) -> CompiledExpression:
    """Compile a string expression (or several) in parameter names into a callable.

    Parameters
    ----------
    expr : str or sequence of str
        One expression, a comma-separated list (``"b1/b2, exp(b3)"``), or a list of
        expressions. See the module docstring for the quoting rule.
    param_names : sequence of str
        Names of the parameters, in the order of the vector the callable receives.

    Returns
    -------
    CompiledExpression
        ``f(theta) -> ndarray (m,)``; works for real and complex ``theta``. ``f.names``
        holds the text of each component.

    Raises
    ------
    MEstimateError
        On syntax outside the whitelist, unknown names or functions, naming the
        offending piece and listing the parameter names and functions available.

    Notes
    -----
    The expression φ(θ) is evaluated with numpy ufuncs only, so for complex θ the
    complex-step derivative Im φ(θ + i h e_j)/h is exact to rounding (except ``abs``).

    Examples
    --------
    >>> import numpy as np
    >>> f = compile_expression("hp / wt, exp(`(Intercept)`)", ["(Intercept)", "hp", "wt"])
    >>> f.names
    ['hp / wt', 'exp(`(Intercept)`)']
    >>> f(np.array([0.0, 3.0, 2.0]))
    array([1.5, 1. ])
    """
    names = [str(p) for p in param_names]
    if len(set(names)) != len(names):
        dup = sorted({p for p in names if names.count(p) > 1})
        raise MEstimateError(f"parameter names must be unique; repeated: {dup}")
    index = {p: j for j, p in enumerate(names)}
    exprs = [expr] if isinstance(expr, str) else list(expr)
    if not exprs:
        raise MEstimateError("no expression given: pass a string such as 'b1 / b2'")
    labels: list[str] = []
    funcs: list[Callable] = []
    for e in exprs:
        lab, fun = _parse(e, index)
        labels += lab
        funcs += fun
    return CompiledExpression(labels, funcs, names)

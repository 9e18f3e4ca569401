"""Reading a learner's result as the checks compare it: one number, an array, a pair of arrays.

The specs' ``split`` functions call these. Each refuses, with an :class:`~cflib.checks.guard.Invalid`
whose text becomes the FAIL line, what later cells could not use or what would pass by accident:
None (a missing ``return``), text (``float("3.5")`` would read it), complex numbers (``float()``
drops the imaginary part), an ``np.matrix`` (``*`` is a matrix product), a one-pass iterator, a
list where an array is expected, and a container where one number is expected. A float32 or
float16 result keeps its dtype, so that the engine compares it at that precision and says so.
"""

from __future__ import annotations

import types

import numpy as np

from .guard import Invalid, _first_line

__all__ = ["scalar", "array", "pair", "refuse_odd_containers"]


def _refuse_text_and_complex(out, what: str) -> None:
    """:class:`Invalid` for text (``float("3.5")`` would read it) and for complex numbers (float() drops the
    imaginary part silently)."""
    if isinstance(out, (str, bytes)) or (isinstance(out, np.ndarray) and out.dtype.kind in "USO"
                                         and any(isinstance(v, (str, bytes)) for v in out.flat)):
        raise Invalid(f"returned text ({_first_line(repr(out), 40)}) instead of {what}: return the number(s) "
                      "themselves, not a string (no str(), f-string or format() on the result)")
    if isinstance(out, (complex, np.complexfloating)) or (isinstance(out, np.ndarray) and out.dtype.kind == "c"):
        raise Invalid(f"returned a complex result instead of {what}: a real computation never needs complex "
                      "numbers; look for the square root or power of a negative number (** 0.5, np.emath, "
                      "np.lib.scimath) or complex dtypes")


def refuse_odd_containers(out, what: str) -> None:
    """:class:`Invalid` for an ``np.matrix`` (``*`` is a matrix product and ``.sum(axis=1)`` stays 2-D, so
    later cells would compute something else) and for a generator or other one-pass iterator (it is used up
    by the first reader)."""
    if isinstance(out, np.matrix):
        raise Invalid(f"returned an np.matrix instead of {what}: return an ordinary array (np.asarray(...), "
                      "and no np.matrix or np.asmatrix): for a matrix, * is a matrix product and "
                      ".sum(axis=1) stays 2-D, so later cells would compute something else")
    iterator_names = ("generator", "map", "filter", "zip", "enumerate", "list_iterator", "tuple_iterator")
    if isinstance(out, (types.GeneratorType, map, filter, zip)) or type(out).__name__ in iterator_names or (
            hasattr(out, "__next__") and not isinstance(out, (np.ndarray, str, bytes))):
        raise Invalid(f"returned a {type(out).__name__} (a one-pass iterator) instead of {what}: build the "
                      "result itself, e.g. tuple(...) around a generator expression, and return that")


def scalar(out, what: str) -> np.ndarray:
    """A number (Python or NumPy) or a 0-d array, as a 0-d float array.

    A list, a tuple or an array with a dimension (even of one element) is
    :class:`Invalid`: later cells format the result with ``f"{J:.4f}"``, which
    such a value cannot do.
    """
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    refuse_odd_containers(out, what)
    if isinstance(out, (tuple, list)):
        raise Invalid(f"returned a {type(out).__name__} of {len(out)} items instead of {what}: "
                      "return the number itself (a float), not a container")
    _refuse_text_and_complex(out, what)
    a = _as_float(out, what)
    if a.size != 1:
        raise Invalid(f"returned an array of shape {a.shape} instead of {what}: "
                      "sum over the entries to get one number")
    if a.ndim > 0:
        raise Invalid(f"returned an array of shape {a.shape} instead of {what}: return the number itself: "
                      f"take out the one element ({'value[0]' if a.ndim == 1 else 'value.item()'}), or reduce "
                      "with np.sum(...) or np.mean(...) over the whole array, which gives a number")
    return a


def array(out, what: str) -> np.ndarray:
    """The result as a float array; :class:`Invalid` when it is None, a list or tuple, or not numeric.

    A list is refused although NumPy could read it: later cells use ``.shape``
    and NumPy arithmetic on the learner's result.
    """
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    refuse_odd_containers(out, what)
    if isinstance(out, (tuple, list)):
        raise Invalid(f"returned a Python {type(out).__name__}, not a NumPy array, for {what}: "
                      "build it with NumPy (np.zeros, @, np.where) or end with np.array(...), "
                      "so that .shape and NumPy arithmetic work in the cells after the check")
    _refuse_text_and_complex(out, what)
    return _as_float(out, what)


def _as_float(out, what: str) -> np.ndarray:
    """A float64 array, or float32/float16 when the result was computed so (the engine compares it at that
    precision and says so: :mod:`cflib.checks.compare`)."""
    dtype = getattr(out, "dtype", None)
    low = isinstance(dtype, np.dtype) and dtype.kind == "f" and dtype.itemsize < 8
    try:
        return np.asarray(out, dtype=dtype if low else float)
    except (TypeError, ValueError):
        raise Invalid(f"returned a {type(out).__name__} instead of {what}") from None


def pair(out, names: tuple) -> tuple:
    """A pair of arrays such as ``(X_grad, Theta_grad)``."""
    what = f"the pair ({', '.join(names)})"
    if out is None:
        raise Invalid(f"returned None instead of {what}: is the `return` statement missing?")
    refuse_odd_containers(out, what)
    if isinstance(out, np.ndarray) or not isinstance(out, (tuple, list)):
        shape = getattr(out, "shape", None)
        extra = f" (one array of shape {shape})" if shape is not None else f" (a {type(out).__name__})"
        raise Invalid(f"returned one value{extra} instead of {what}: end with `return {', '.join(names)}`")
    if len(out) != len(names):
        raise Invalid(f"returned {len(out)} values instead of {what}")
    return tuple(array(o, n) for o, n in zip(out, names))

"""What crosses from a submission's process to the grader: plain data, never objects.

A learner's function returns whatever it likes. The submission's process
encodes the result with :func:`encode` into JSON made only of numbers,
strings, lists and NumPy arrays as bytes (bool, integer, float, complex or
unicode dtypes: no object arrays, no pickles), and the grader rebuilds it with
:func:`decode`. Nothing the submission sends can run code in the grader: an
object of another type arrives as an empty stand-in of a class with the same
name, so the checks' readers still say "returned a DataFrame instead of ...".
"""

from __future__ import annotations

import base64

import numpy as np

#: Array kinds that may cross: bool, signed and unsigned integers, floats, complex numbers, unicode text.
KINDS = "biufcU"
#: The most bytes one result may take on the wire (a larger one is reported as too large).
MAX_BYTES = 64 * 2**20
#: How deep lists and tuples may nest, and how many items one may hold.
MAX_DEPTH, MAX_ITEMS = 6, 100_000


class TooLarge(ValueError):
    """The result is larger than :data:`MAX_BYTES` or nests deeper than :data:`MAX_DEPTH`."""


def _array(a: np.ndarray) -> dict:
    a = np.asarray(a).copy(order="C")  # (ascontiguousarray would make a 0-d array 1-d)
    if a.nbytes > MAX_BYTES:
        raise TooLarge(f"an array of shape {a.shape} ({a.nbytes / 2**20:.0f} MiB)")
    return {"t": "nd", "dtype": a.dtype.str, "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def encode(value, depth: int = 0):
    """``value`` as JSON-ready data (see the module docstring); :class:`TooLarge` past the limits."""
    if depth > MAX_DEPTH:
        raise TooLarge(f"lists nested more than {MAX_DEPTH} deep")
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": float.hex(value)}
    if isinstance(value, complex):
        return {"t": "complex", "re": float.hex(value.real), "im": float.hex(value.imag)}
    if isinstance(value, str):
        return {"t": "str", "v": value[:10_000]}
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            raise TooLarge(f"a {type(value).__name__} of {len(value)} items")
        return {"t": type(value).__name__ if type(value) in (list, tuple) else "tuple",
                "v": [encode(v, depth + 1) for v in value]}
    if isinstance(value, np.generic) and value.dtype.kind in KINDS:
        return {"t": "npscalar", "a": _array(np.asarray(value))}
    if isinstance(value, np.ndarray) and type(value) is np.ndarray and value.dtype.kind in KINDS:
        return _array(value)
    kind = type(value).__name__
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        try:  # a matrix subclass or an array-like: what np.asarray gives, as the checks would read it
            a = np.asarray(value)
        except Exception:
            a = None
        if a is not None and a.dtype.kind in KINDS:
            return {"t": "arraylike", "type": kind[:80], "a": _array(a)}
    return {"t": "other", "type": kind[:80] if kind.isidentifier() else "object"}


def _read_array(d: dict) -> np.ndarray:
    dtype = np.dtype(str(d["dtype"]))
    if dtype.kind not in KINDS or dtype.hasobject or dtype.fields is not None:
        raise ValueError(f"dtype {dtype} may not cross")
    shape = tuple(int(s) for s in d["shape"])
    raw = base64.b64decode(d["b64"], validate=True)
    if len(raw) > MAX_BYTES or any(s < 0 for s in shape) or int(np.prod(shape)) * dtype.itemsize != len(raw):
        raise ValueError("the array's bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def decode(d, depth: int = 0):
    """The value :func:`encode` encoded; ``ValueError`` for anything malformed."""
    if depth > MAX_DEPTH + 1 or not isinstance(d, dict):
        raise ValueError("malformed value")
    t = d.get("t")
    if t == "none":
        return None
    if t == "bool":
        return bool(d["v"])
    if t == "int":
        return int(str(d["v"])[:5000])
    if t == "float":
        return float.fromhex(str(d["v"]))
    if t == "complex":
        return complex(float.fromhex(str(d["re"])), float.fromhex(str(d["im"])))
    if t == "str":
        return str(d["v"])
    if t in ("list", "tuple"):
        items = [decode(v, depth + 1) for v in list(d["v"])[:MAX_ITEMS]]
        return items if t == "list" else tuple(items)
    if t == "nd":
        return _read_array(d)
    if t == "npscalar":
        return _read_array(d["a"])[()]
    if t == "arraylike":  # an np.matrix stays one, so that the checks judge it as they do in the kernel
        a = _read_array(d["a"])
        return np.asmatrix(a) if d.get("type") == "matrix" and a.ndim <= 2 else a
    if t == "other":
        name = str(d.get("type", "object"))
        return type(name if name.isidentifier() else "object", (), {"__repr__": lambda self: f"<{name}>"})()
    raise ValueError(f"unknown kind {t!r}")

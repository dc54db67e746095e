"""The input policy and calling convention of ``theory``, public for the packages built on it.

``simulate`` follows the same rules as ``theory`` (see the README's input policy); it takes them
from here rather than from ``theory``'s private modules, which may change without notice.

- ``real_dtype(name, x)``: the dtype of ``x`` as an array; ValueError naming ``name`` unless it
  is real floating or integer (bools, complex values, strings and objects are refused).
- ``numpy_or_jax(fn)``: decorator; ``fn`` runs in float64 and returns NumPy values unless a JAX
  array is among its arguments, in which case it is traced as it is (jit, vmap, grad compose).
- ``unit_scaled(x, axes=(-1,))``: ``(x / s, s)`` with ``s = max |x|`` over ``axes``, so that
  scale-free quantities computed from ``x / s`` neither overflow nor underflow.
"""

from ._numerics import numpy_or_jax, unit_scaled
from ._validate import real_dtype

__all__ = ["real_dtype", "numpy_or_jax", "unit_scaled"]

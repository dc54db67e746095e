"""The persistent JAX compilation cache of the command line.

Compiled programs are kept in ``$XDG_CACHE_HOME/beyond-collapse/jax`` (``~/.cache/...`` when
the variable is unset), so a rerun loads them instead of compiling again. Off with
``--no-compile-cache`` or ``BEYOND_COLLAPSE_NO_COMPILE_CACHE=1``. A cache directory the caller
already chose (``JAX_COMPILATION_CACHE_DIR``) is kept. Library calls never touch this: it is the
command line's choice, made once per process before anything compiles.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_OFF = "BEYOND_COLLAPSE_NO_COMPILE_CACHE"
# Every program is kept: the many small ones (one per array operation and shape) add up to
# seconds, and reading one back takes about a millisecond.
MIN_COMPILE_SECONDS = 0.0


def default_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "beyond-collapse" / "jax"


def off_by_environment() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


def enable(disabled: bool = False) -> Path | None:
    """Point JAX at the cache directory (or turn its cache off); returns the directory used.

    Before JAX is imported this only sets its environment variables (JAX reads them when it is
    imported, and subprocesses inherit them): a command that hands its work to other processes
    then never imports JAX itself.
    """
    jax = sys.modules.get("jax")
    if disabled or off_by_environment():
        os.environ[ENV_OFF] = "1"  # subprocesses (Dask workers) follow
        os.environ["JAX_ENABLE_COMPILATION_CACHE"] = "false"
        if jax is not None:
            jax.config.update("jax_enable_compilation_cache", False)
        return None
    chosen = os.environ.get("JAX_COMPILATION_CACHE_DIR") or (
        jax.config.jax_compilation_cache_dir if jax is not None else None)
    path = Path(chosen) if chosen else default_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: run without the cache rather than fail
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(path))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(MIN_COMPILE_SECONDS))
    try:
        seconds = float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"])
    except ValueError:
        seconds = MIN_COMPILE_SECONDS
        os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(seconds)
    os.environ["JAX_ENABLE_COMPILATION_CACHE"] = "true"
    if jax is not None:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", seconds)
    return path

"""Shared test settings.

Hypothesis runs derandomised (the same examples on every run, so CI is reproducible) and without
deadlines (the first call of a jitted function compiles). Monte Carlo tolerances are derived from
each test's own sample size; the false-alarm rate per check is 1e-4 or smaller. Float
strategies whose range includes 0 exclude subnormals: the public functions refuse them.
"""

import os
from pathlib import Path

import jax
import pytest
from hypothesis import HealthCheck, settings

# Compiled programs are shared between the xdist workers (and reruns) through JAX's persistent
# cache: the logistic solvers take seconds to compile and many tests call them.
# Subprocesses started by tests (a killed sweep, Dask workers) read the same settings from the
# environment.
_CACHE = str(Path(__file__).parents[1] / ".pytest_cache" / "jax")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# Peak memory: compiled programs and their constants pile up over a worker's modules (a worker
# once reached 6.3 GB). Dropping JAX's in-memory caches after each module bounds that; what a
# later module needs again comes back from the persistent cache above, not a fresh compile.
@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches_after_module():
    yield
    jax.clear_caches()


# BEYOND_COLLAPSE_RSS_LOG=FILE appends "peak-RSS-MiB seconds nodeid" per test (per worker), to
# find the tests that raise a worker's peak memory or take long.
_RSS_LOG = os.environ.get("BEYOND_COLLAPSE_RSS_LOG")


def pytest_runtest_logreport(report):
    if _RSS_LOG and report.when == "call":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open(_RSS_LOG, "a") as f:
            f.write(f"{peak:.0f} {report.duration:.2f} {report.nodeid}\n")

"""Shared test settings.

Hypothesis runs derandomised (the same examples on every run, so CI is reproducible) and without
deadlines (the first call of a jitted function compiles). Monte Carlo tolerances are derived from
each test's own sample size; the false-alarm rate per check is 1e-4 or smaller.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

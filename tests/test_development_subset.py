"""The settings that ``tests/conftest.py`` gives the development subset (``-m "not slow"``)
and only it: fewer Hypothesis examples and XLA's backend optimisation off."""

import os

from hypothesis import settings

from tests import conftest


def test_the_development_subset_and_only_it_draws_fewer_examples_and_compiles_at_o0(request):
    fast = conftest._fast_subset(request.config)
    if "HYPOTHESIS_PROFILE" not in os.environ:
        assert settings.default.max_examples == (25 if fast else 100)
        assert settings.default.derandomize
    if fast:  # set by the hook, or by the caller (whose setting is kept)
        assert "xla_backend_optimization_level" in os.environ.get("XLA_FLAGS", "")
    else:
        assert not conftest.xla_flag_added

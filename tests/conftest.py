"""Shared test settings.

Hypothesis runs derandomised (the same examples on every run, so CI is reproducible) and without
deadlines (the first call of a jitted function compiles). Monte Carlo tolerances are derived from
each test's own sample size; the false-alarm rate per check is 1e-4 or smaller. Float
strategies whose range includes 0 exclude subnormals: the public functions refuse them.
"""

import ctypes
import gc
import os
from pathlib import Path

import jax
import pytest
from hypothesis import HealthCheck, settings

# Compiled programs are shared between the xdist workers (and reruns) through JAX's persistent
# cache: the logistic solvers take seconds to compile and many tests call them. Every program is
# kept, the small ones too: the fast subset reruns in 56 s instead of 86 s (132 s with an empty
# cache either way; about 15 MB).
# Subprocesses started by tests (a killed sweep, Dask workers) read the same settings from the
# environment.
_CACHE = str(Path(__file__).parents[1] / ".pytest_cache" / "jax")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

# `figures` runs in this process (tests replace parts of it in place); a test that wants
# worker processes passes --jobs.
os.environ.setdefault("BEYOND_COLLAPSE_FIGURE_JOBS", "1")

settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("explore", deadline=None, max_examples=200)
# The development subset (-m "not slow") draws a quarter of the examples of each property
# test that keeps Hypothesis's default of 100 (the full suite, as CI runs it, draws them all):
# those tests took a fifth of the subset's time.
settings.register_profile("dev", parent=settings.get_profile("ci"), max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _fast_subset(config):
    return config.getoption("markexpr", "").replace(" ", "") == "notslow"


# The development subset also compiles with XLA's backend (LLVM) optimisation off: compiling
# is two thirds of its cold run, and O0 takes about a quarter off that run (116 s -> 85 s on 2
# cores), the rerun too (41 s -> 38 s). The programs compute the same things; the full suite,
# as CI runs it, compiles them as a user's run does. An XLA_FLAGS that sets the level wins.
_FAST_SUBSET_XLA_FLAG = "--xla_backend_optimization_level=0"
xla_flag_added = False


def pytest_configure(config):
    global xla_flag_added
    if not _fast_subset(config):
        return
    if "HYPOTHESIS_PROFILE" not in os.environ:
        settings.load_profile("dev")
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        # Read when JAX first creates its backend, which no test module has done yet.
        os.environ["XLA_FLAGS"] = f"{flags} {_FAST_SUBSET_XLA_FLAG}".strip()
        xla_flag_added = True


# Peak memory: compiled programs and their constants pile up over a worker's modules (a worker
# once reached 6.3 GB). Dropping JAX's in-memory caches after a module bounds that; what a later
# module needs again comes back from the persistent cache above, not a fresh compile. The freed
# memory is then handed back to the system (glibc keeps it otherwise), so that the next module's
# peak starts from what is live, not from the previous module's high-water mark. Dropping and
# collecting cost about 0.3 s, so it is done once a worker holds more than FREE_ABOVE_MIB
# (a -m "not slow" worker ends near 2.3 GB without it; every module, where RSS is not known).
FREE_ABOVE_MIB = 1536


@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches_after_module():
    yield
    rss = _resident_mib()
    if rss is None or rss > FREE_ABOVE_MIB:
        _free_memory()


def _resident_mib():
    """This process's resident memory now (MiB), or None where /proc does not say."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        return None


# The imported modules (JAX, SciPy, scikit-learn, the tests) stay for the whole run: frozen, the
# garbage collector's full passes skip them (they took 7 s of each worker's minute).
def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()


@pytest.fixture
def fresh_memory():
    """For a test that sets a worker's peak: start it from what is live (see above)."""
    _free_memory()


def _free_memory():
    jax.clear_caches()
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to hand back this way
        pass


# BEYOND_COLLAPSE_RSS_LOG=FILE appends "peak-RSS-MiB seconds nodeid" per test (per worker), to
# find the tests that raise a worker's peak memory or take long.
_RSS_LOG = os.environ.get("BEYOND_COLLAPSE_RSS_LOG")


def pytest_runtest_logreport(report):
    if _RSS_LOG and report.when == "call":
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with open(_RSS_LOG, "a") as f:
            f.write(f"{peak:.0f} {report.duration:.2f} {report.nodeid}\n")


# The fast subset for development is ``pytest -m "not slow"``; CI runs everything. Besides the
# tests marked in place, these whole modules and tests are slow (end-to-end pipelines, Monte
# Carlo against theory, scikit-learn on 10^5 samples, the fuzz profile, a Dask cluster,
# finite-difference gradients); each took 10 s or more on 2 cores.
SLOW = (
    "tests/experiments/eigen/test_pipeline_quick.py",
    "tests/experiments/summarize/test_pipeline_quick.py",
    "tests/experiments/summarize/test_hf_backend.py",
    "tests/experiments/seq2seq/test_gradients.py",
    "tests/experiments/seq2seq/test_seq2seq.py::test_cached_steps_equal_the_teacher_forced_pass",
    "tests/experiments/seq2seq/test_seq2seq.py::test_wide_beam_search_is_exact",
    "tests/figures/test_figures_command.py",
    "tests/fuzz/",
    "tests/simulate/test_against_finite_theory.py",
    "tests/simulate/test_sweep_dask.py",
    "tests/simulate/test_run.py::test_label_only_pruning_matches_theory",
    "tests/simulate/test_run.py::test_linear_verifier_matches_theory",
    "tests/simulate/test_run.py::test_real_data_fraction_matches_theory",
    "tests/simulate/test_generations.py",
    "tests/simulate/test_cli.py::test_json_rows",
    "tests/simulate/test_fit.py::test_logistic_matches_sklearn",
    "tests/simulate/test_fit.py::test_group_batch_equals_shared_and_single_calls",
    "tests/simulate/test_input_checks.py::test_run_accepts_the_largest_root_seed",
    "tests/theory/test_label_only.py::test_logistic_limit_matches_scikit_learn",
    "tests/theory/test_linear_verifier.py::test_logistic_limit_matches_scikit_learn",
    "tests/theory/test_finite_scenarios.py",
    "tests/theory/test_estimate.py",
    "tests/experiments/test_cli_help.py::test_every_help_example_runs_as_written[beyond-collapse theory  ",
    "tests/experiments/test_compile_cache.py",
    "tests/experiments/test_cli_theory.py::test_console_script_is_installed",
    # 30 s or more each in a -m "not slow" run on 2 busy cores (mostly logistic solvers):
    "tests/simulate/test_run.py::test_table_rows_columns_and_fitted_specs",
    "tests/simulate/test_run.py::test_results_are_bit_identical_whatever_the_chunking",
    "tests/simulate/test_sweep.py::test_killed_sweep_resumes_to_the_identical_table",
    "tests/theory/test_backends.py::test_numpy_and_jax_paths_agree_when_alternated",
    "tests/theory/test_chunking.py::test_results_do_not_depend_on_the_chunk_size",
    "tests/theory/test_linear_verifier.py::test_logistic_breakdown_against_scikit_learn",
    "tests/theory/test_linear_verifier.py::test_logistic_without_ridge_follows_the_verifier",
    "tests/theory/test_linear_verifier.py::test_breakdown_tends_to_signal_weighted_ratio",
    "tests/theory/test_scale_free.py::test_verifier_breakdown_at_large_lam_is_signal_weighted",
    "tests/theory/test_label_only.py::test_breakdown_is_pstar_whatever_lam_loss_and_sigma",
    "tests/experiments/seq2seq/test_seq2seq.py::test_training_learns_a_deterministic_map",
    # 7 s or more each alone on 2 cores (2026-12-04): integration runs of a sweep or a curve
    "tests/simulate/test_curves.py::test_curves_cover_the_sweep_and_match_its_finite_theory_column",
    "tests/simulate/test_sweep.py::test_run_stores_reuses_and_refuses_another_sweep",
    "tests/simulate/test_pandas.py::test_a_sweep_reads_back_as_one_dataframe",
    "tests/simulate/test_padding.py::test_same_seed_same_numbers_across_sizes_and_runs",
    "tests/experiments/seq2seq/test_seq2seq.py::test_samples_follow_the_model",
    "tests/theory/test_linear_verifier.py::test_theory_md_example",
    "tests/theory/test_precision.py::test_numpy_in_float64_out_and_the_global_flag_untouched",
    "tests/test_readme_own_verifier.py",
    "tests/theory/test_chunking.py::test_finite_generations_runs_a_block_of_points_at_a_time",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


# Whole modules of slow tests are not even imported by -m "not slow" (some import PyTorch,
# Transformers or Dask: 2 s of each worker's start).
_SLOW_MODULES = tuple(entry for entry in SLOW if "::" not in entry)


def pytest_ignore_collect(collection_path, config):
    if not _fast_subset(config):
        return None
    rel = collection_path.relative_to(config.rootpath).as_posix()
    return True if (rel + "/").startswith(_SLOW_MODULES) or rel in _SLOW_MODULES else None

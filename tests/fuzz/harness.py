"""The fuzz harness: hypothesis over the public functions, the file readers and every CLI
subcommand and flag.

Every input is drawn together with its verdict (valid or not). An outcome passes when it is

- a result, for a valid input;
- one clear line, for an invalid one: a ``ValueError`` (or the CLI's exit status 2) whose
  message is a single line naming the parameter or the file (a hint the strategy gives).

Everything else is a failure: a traceback (any other exception, a message over several lines
or naming nothing), or a silent acceptance (a result for an invalid input). A few valid inputs
may also be refused with a clear line (a range the strategy cannot know): those count as
passes. ``Tally`` counts entries, inputs tried and failures; ``scripts/fuzz.py`` prints them.

Heavy work (training, sweeps of real units, figures) is replaced by stubs that accept the
validated configuration: the harness exercises argument handling, validation and the files, not
the experiments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import json
import string
from pathlib import Path

from hypothesis import strategies as st

# --- outcomes ------------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    tried: dict = dataclasses.field(default_factory=dict)
    failures: dict = dataclasses.field(default_factory=dict)

    def record(self, entry: str, failure: str | None) -> None:
        self.tried[entry] = self.tried.get(entry, 0) + 1
        if failure is not None:
            self.failures.setdefault(entry, []).append(failure)

    def summary(self) -> str:
        n_fail = sum(len(v) for v in self.failures.values())
        return (f"{len(self.tried)} entries, {sum(self.tried.values())} inputs tried, "
                f"{n_fail} failures")


def _names(message: str, hints) -> bool:
    low = message.lower()
    return not hints or any(h.lower() in low for h in hints)


def judge_call(fn, invalid: bool, hints) -> str | None:
    """None if the call passes, else a description of the failure."""
    try:
        fn()
    except ValueError as err:
        msg = str(err)
        if not msg or "\n" in msg.strip():
            return f"unclear error (several lines or none): {msg!r}"
        if invalid and not _names(msg, hints):
            return f"error names none of {sorted(hints)}: {msg!r}"
        return None
    except Exception as err:  # noqa: BLE001 - every other exception is a failure
        return f"traceback: {type(err).__name__}: {str(err)[:300]}"
    return "silent acceptance" if invalid else None


def judge_cli(argv: list[str], invalid: bool, hints) -> str | None:
    """Run the CLI in this process; exit 0 is a result, exit 2 with one error line a refusal."""
    from experiments import cli

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli.main(argv)
    except SystemExit as exc:  # argparse: usage lines, then one "error:" line
        rc = exc.code
    except Exception as exc:  # noqa: BLE001
        return f"traceback: {type(exc).__name__}: {str(exc)[:300]}"
    text = err.getvalue()
    if "Traceback" in text:
        return "traceback printed"
    if rc == 0:
        return "silent acceptance" if invalid else None
    if rc != 2:
        return f"exit status {rc}"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln]
    if len(errors) != 1 or lines[-1] != errors[0]:
        return f"not one error line: {text[-300:]!r}"
    if invalid and not _names(errors[0], hints):
        return f"error names none of {sorted(hints)}: {errors[0]!r}"
    return None


# --- values --------------------------------------------------------------------------------------

# A value strategy draws (value, invalid).
def ok(strategy):
    return strategy.map(lambda v: (v, False))


def bad(strategy):
    return strategy.map(lambda v: (v, True))


NON_NUMBERS = st.sampled_from(["abc", "", "1,2", "--", "0x", "None", "[1]", "🙂", "1e", "+-1"])
NON_FINITE = st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e999", "NaN"])


def fmt(x) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


def number_text(valid, invalid=None):
    """Text of a number for a flag: valid draws from ``valid``, invalid from ``invalid``."""
    choices = [ok(valid.map(fmt)), bad(NON_NUMBERS), bad(NON_FINITE)]
    if invalid is not None:
        choices.append(bad(invalid.map(fmt)))
    return st.one_of(*choices)


def list_text(valid, invalid=None, max_size=3):
    """Comma-separated lists: valid members, or one invalid member among them."""
    good = st.lists(valid.map(fmt), min_size=1, max_size=max_size).map(",".join)
    choices = [ok(good), bad(st.sampled_from([",", " ", ",,", "1,,x", "nan,1", "1,inf"]))]
    if invalid is not None:
        choices.append(bad(st.tuples(st.lists(valid.map(fmt), max_size=2), invalid.map(fmt))
                           .map(lambda t: ",".join([*t[0], t[1]]))))
    return st.one_of(*choices)


# Subnormals are refused by the theory's input policy (tests/theory/test_input_policy.py): they
# are not valid draws.
FLOATS = dict(allow_nan=False, allow_infinity=False, allow_subnormal=False)
PROB = st.floats(0, 1, **FLOATS)
OUTSIDE_PROB = st.one_of(st.floats(-1e6, -1e-6, **FLOATS), st.floats(1.000001, 1e6, **FLOATS))
NONNEG = st.floats(0, 1e3, **FLOATS)
NEGATIVE = st.floats(-1e6, -1e-6, **FLOATS)
REAL = st.floats(-1e3, 1e3, **FLOATS)
SEED = st.integers(0, 2**32 - 1)
BAD_SEED = st.one_of(st.integers(max_value=-1), st.integers(min_value=2**32))


# --- paths ---------------------------------------------------------------------------------------

class Paths:
    """A scratch folder with a regular file, a directory and a missing name, for path flags."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.file = self.root / "plain.txt"
        self.file.write_text("not what you expected\n")
        self.dir = self.root / "a-dir"
        self.dir.mkdir(exist_ok=True)

    def bad_inputs(self):
        """Paths where an input file is expected that are not one."""
        return bad(st.sampled_from([str(self.dir), str(self.root / "missing.x"),
                                    str(self.file / "below")]))

    def bad_outputs(self):
        """Paths where an output directory is expected that cannot be one."""
        return bad(st.sampled_from([str(self.file), str(self.file / "below")]))

    def fresh_dir(self, n):
        return str(self.root / f"out-{n}")


# --- file contents -------------------------------------------------------------------------------

def mutations(data: bytes):
    """Ways a file goes bad: truncation, garbage bytes, a byte-order mark, a duplicated line."""
    lines = data.splitlines(keepends=True) or [b""]
    return st.one_of(
        st.integers(0, max(len(data) - 1, 0)).map(lambda k: data[:k]),
        st.tuples(st.integers(0, len(data)), st.binary(min_size=1, max_size=8)).map(
            lambda t: data[:t[0]] + t[1] + data[t[0]:]),
        st.integers(0, max(len(data) - 1, 0)).map(
            lambda k: data[:k] + bytes([data[k] ^ 0x55]) + data[k + 1:] if data else b"\xff"),
        st.just(b"\xef\xbb\xbf" + data),
        st.integers(0, len(lines) - 1).map(lambda i: b"".join(lines[:i + 1] + lines[i:])),
        st.just(b""),
    )


TEXT = st.text(max_size=12)
NASTY_TEXT = st.text(alphabet=st.sampled_from(list(string.printable[:-5]) + [
    "\u0085", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\r", "\n", "\t", "\\", '"', "\ufeff",
    "é", "中", "🙂"]), max_size=12)


def jsonl(records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


# --- stubs of the heavy work ---------------------------------------------------------------------

@contextlib.contextmanager
def light_commands():
    """Replace training, figures and sweep units by stubs that accept their input."""
    import figures.fig_eigen  # noqa: F401 - imported so their render can be replaced
    from experiments.commands import figures as figures_command
    from experiments.eigen import pipeline as eigen_pipeline
    from experiments.summarize import pipeline as summarize_pipeline
    from simulate import sweep as sweep_module

    saved = []

    def patch(obj, name, value):
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def fake_run(config, out, progress=True):
        Path(out).mkdir(parents=True, exist_ok=True)
        return []

    for pipe in (eigen_pipeline, summarize_pipeline):
        patch(pipe, "run", fake_run)
        patch(pipe, "load_results", lambda out: ([], {"stub": True}))
    modules = [m for _, m in figures_command.FIGURES] + [
        m for _, m, _ in figures_command.EXPERIMENT_FIGURES]
    for name in modules:
        patch(importlib.import_module(name), "render", lambda **kw: [])

    def fake_unit(params):
        variants = (len(params["generators"]) * len(params["pruners"]) * len(params["lam"])
                    * len(params["loss"]) * len(params["real_fraction"]))
        return [{"seed": params["seed"], "n": params["n"], "variant": v, "accuracy": 0.5}
                for v in range(variants)]

    patch(sweep_module, "compute_unit", fake_unit)
    import simulate
    from simulate.table import Table

    patch(simulate, "run", lambda *a, **kw: Table([], {}))
    try:
        yield
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)


class Call:
    """A drawn function call, shown by its arguments when it fails."""

    def __init__(self, fn, kwargs):
        self.fn, self.kwargs = fn, kwargs

    def __call__(self):
        return self.fn(**self.kwargs)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}"[:80] for k, v in self.kwargs.items())
        return f"{getattr(self.fn, '__qualname__', self.fn)}({args})"


def run_entries(entries, examples: int, tally: Tally, cli_entries, only=None) -> None:
    """Draw ``examples`` inputs for each entry and record each outcome in ``tally``."""
    from hypothesis import HealthCheck, given, settings

    for name, (scope, strategy) in entries.items():
        if only is not None and name not in only:
            continue
        _run_entry(name, strategy, examples, tally, cli_entries)


def _run_entry(name, strategy, examples, tally, cli_entries):
    from hypothesis import HealthCheck, given, settings

    # Failures are recorded, not raised: every example is tried and counted.
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(drawn):
        subject, invalid, hints = drawn
        with light_commands():
            if name in cli_entries:
                failure = judge_cli(subject, invalid, hints)
            else:
                failure = judge_call(subject, invalid, hints)
        where = " ".join(subject) if name in cli_entries else repr(subject)
        tally.record(name, None if failure is None else f"{failure} <- {where}")

    one()


__all__ = ["Tally", "Call", "judge_call", "judge_cli", "run_entries", "Paths", "mutations",
           "light_commands", "ok", "bad", "number_text", "list_text"]

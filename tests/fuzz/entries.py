"""The entries of the fuzz harness: each draws one input with its verdict and judges the outcome.

An entry is ``(name, scope, build)``: ``build(paths)`` returns a hypothesis strategy of
``(thunk, invalid, hints)`` for functions or ``(argv, invalid, hints)`` for the CLI. ``scope`` is
"checked" (both profiles require zero failures) or "report" (findings listed, not asserted; no
entry has this scope now).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
from hypothesis import strategies as st

from . import harness as h
from .harness import FLOATS, NEGATIVE, OUTSIDE_PROB, PROB, REAL, bad, ok

_COUNTER = itertools.count()

# --- CLI -----------------------------------------------------------------------------------------


def flag(name, values, hints=None):
    """(name, strategy of (text, invalid), hints naming it in an error)."""
    bare = name.lstrip("-")
    return name, values, hints or [bare, bare.replace("-", "_")]


def argv_from(flags, fixed=(), required=()):
    """Draw a subset of ``flags`` (always ``required``): (argv, invalid, hints)."""

    @st.composite
    def draw(data):
        argv, invalid, hints = list(fixed), False, set()
        for name, values, names in flags:
            if name not in required and not data(st.booleans()):
                continue
            if values is None:  # a switch
                argv.append(name)
                continue
            text, wrong = data(values)
            if name.startswith("-"):
                argv += [name, text]
            else:
                argv.append(text)
            if wrong:
                invalid = True
                hints.update(names)
        return argv, invalid, hints

    return draw()


PROBS = h.list_text(PROB, OUTSIDE_PROB)
LOSS = st.one_of(ok(st.sampled_from(["logistic", "square"])), bad(st.sampled_from(["hinge", ""])))


def _theory(paths):
    mu_norm = flag("--mu-norm", h.number_text(st.floats(0, 5, **FLOATS), NEGATIVE))
    lam = flag("--lam", h.number_text(st.floats(1e-3, 10, **FLOATS), NEGATIVE))
    loss = flag("--loss", LOSS)
    phi = flag("--phi", h.number_text(st.floats(0.05, 1, **FLOATS), OUTSIDE_PROB))
    psi = flag("--psi", h.number_text(st.floats(0.05, 1, **FLOATS), OUTSIDE_PROB))
    p = flag("--p", PROBS)
    json_flag = flag("--json", None)
    two = h.list_text(st.floats(0.1, 3, **FLOATS), None, max_size=2).filter(
        lambda t: t[1] or len(t[0].split(",")) == 2)
    audit = _audit_file(paths)
    return st.one_of(
        argv_from([flag("--mu-norm", h.number_text(st.floats(0, 5, **FLOATS), NEGATIVE)),
                   lam, loss, flag("--angles", h.list_text(REAL)), json_flag],
                  fixed=["theory", "report"]),
        argv_from([phi, psi, p, json_flag], fixed=["theory", "pstar"],
                  required=("--phi", "--psi")),
        argv_from([p, phi, psi, mu_norm, lam, loss, json_flag], fixed=["theory", "label-only"],
                  required=("--p", "--phi", "--psi")),
        argv_from([mu_norm, flag("--angle", h.number_text(REAL)),
                   flag("--tau", h.number_text(st.floats(-2, 2, **FLOATS))), lam, loss, p,
                   json_flag], fixed=["theory", "linear-verifier"]),
        argv_from([flag("--mu", two), flag("--w-v", two), flag("--tau", h.number_text(
            st.floats(-2, 2, **FLOATS))), json_flag], fixed=["theory", "linear-verifier"],
            required=("--mu", "--w-v")),
        argv_from([mu_norm, flag("--angle-g", h.number_text(REAL)),
                   flag("--angle-v", h.number_text(REAL)), json_flag],
                  fixed=["theory", "linear-generator"]),
        argv_from([flag("--mu", two), flag("--w-g", two), flag("--w-v", two), json_flag],
                  fixed=["theory", "linear-generator"], required=("--mu", "--w-g", "--w-v")),
        argv_from([flag("file", audit, ["audit", ".csv", ".jsonl", "a-dir", "missing", "plain"]),
                   flag("--level", h.number_text(st.floats(0.01, 0.99, **FLOATS),
                                                 OUTSIDE_PROB)),
                   flag("--method", st.one_of(ok(st.sampled_from(["beta", "wilson"])),
                                              bad(st.just("bayes")))), json_flag],
                  fixed=["theory", "estimate"], required=("file",)),
        argv_from([flag("--alpha", h.list_text(st.floats(0.1, 50, **FLOATS), NEGATIVE)),
                   flag("--p", h.list_text(PROB, OUTSIDE_PROB, max_size=2)),
                   flag("--phi", h.number_text(st.floats(0.05, 1, **FLOATS), OUTSIDE_PROB)),
                   flag("--psi", h.number_text(st.floats(0.05, 1, **FLOATS), OUTSIDE_PROB)),
                   flag("--mu-norm", h.number_text(st.floats(0, 3, **FLOATS), NEGATIVE)),
                   flag("--lam", h.number_text(st.floats(0.01, 10, **FLOATS), NEGATIVE)), loss,
                   flag("--real-fraction", h.number_text(PROB, OUTSIDE_PROB)),
                   flag("--nodes", h.number_text(st.integers(8, 40),
                                                 st.integers(-5, 7) | st.integers(1001, 10**12))),
                   json_flag], fixed=["theory", "finite"]),
        argv_from([flag("--alpha-range", st.one_of(
            ok(st.tuples(st.floats(0.1, 5, **FLOATS), st.floats(5, 50, **FLOATS),
                         st.integers(1, 5)).map(lambda t: f"{t[0]!r},{t[1]!r},{t[2]}")),
            bad(st.sampled_from(["1,2", "0,1,3", "-1,2,3", "1,2,0", "1,2,2.5", "nan,1,2"]))),
            ["alpha"])], fixed=["theory", "finite"], required=("--alpha-range",)),
    )


def _audit_file(paths):
    """Audit files: valid CSV or JSON lines (sometimes with a BOM), or mutations of them."""

    @st.composite
    def draw(data):
        n = data(st.integers(1, 6))
        rows = [(data(st.sampled_from(["1", "0", "true", "false", "yes", "no"])),
                 data(st.sampled_from(["1", "0", "True", " no "]))) for _ in range(n)]
        kind = data(st.sampled_from(["csv", "jsonl"]))
        if kind == "csv":
            content = ("correct,kept\n" + "".join(f"{a},{b}\n" for a, b in rows)).encode()
        else:
            content = h.jsonl({"correct": a, "kept": b} for a, b in rows)
        if data(st.booleans()):
            content = b"\xef\xbb\xbf" + content
        invalid = False
        if data(st.integers(0, 2)) == 0:
            mutated = data(h.mutations(content))
            invalid = None if mutated != content else False  # maybe still valid: either passes
            content = mutated
        path = paths.root / f"audit-{next(_COUNTER)}.{kind}"
        path.write_bytes(content)
        if invalid is None:  # a mutation may leave a readable file: judge by a parse attempt
            from experiments.commands.theory import read_audit_file

            try:
                read_audit_file(path, "correct", "kept")
                invalid = False
            except ValueError:
                invalid = True
        return str(path), invalid

    return st.one_of(draw(), paths.bad_inputs())


def _simulate(paths):
    spec_g = st.one_of(ok(st.sampled_from(["flip:p=0.2", "linear:angle=0.3",
                                           "trained:n_real=20"])),
                       bad(st.sampled_from(["flip", "flip:p=2", "nope:x=1", "flip:p=nan",
                                            "flip:p", "flip:p=0.1,p=0.2", "linear:angle=x"])))
    spec_p = st.one_of(ok(st.sampled_from(["none", "oracle", "random:rate=0.5",
                                           "label_only:phi=0.9,psi=0.3"])),
                       bad(st.sampled_from(["random", "random:rate=0", "oracle:phi=1",
                                            "top_r:rate=2,angle=0", "x"])))
    return argv_from([
        flag("--d", h.number_text(st.integers(1, 5), st.integers(-3, 0))),
        flag("--mu-norm", h.number_text(st.floats(0, 3, **FLOATS))),
        flag("--n", h.list_text(st.integers(20, 60), st.integers(-5, 0), max_size=2)),
        flag("--p", h.list_text(PROB, None, max_size=2)),
        flag("--generator", spec_g, ["generator", "spec"]),
        flag("--pruner", spec_p, ["pruner", "spec"]),
        flag("--loss", st.one_of(ok(st.sampled_from(["logistic", "square", "logistic,square"])),
                                 bad(st.sampled_from([",", " "])))),
        flag("--seeds", h.number_text(st.integers(1, 3), st.integers(-2, 0))),
        flag("--root-seed", h.number_text(st.integers(0, 2**32 - 1),
                                          st.integers(2**32, 2**70) | st.integers(max_value=-1))),
        flag("--batch-size", h.number_text(st.integers(1, 3), st.integers(-2, 0))),
        flag("--no-theory", None), flag("--json", None),
    ], fixed=["simulate"]).map(_needs_generator)


def _needs_generator(drawn):
    argv, invalid, hints = drawn
    if "--p" not in argv and "--generator" not in argv:
        return argv, True, hints | {"generator"}
    return drawn


SWEEP_TOML = """name = "fz"
seeds = {seeds}
root_seed = {root}
theory = false
[data]
d = {d}
mu_norm = 1.0
[grid]
n = {n}
generator = ["flip:p=0.2"]
pruner = ["none", "oracle"]
"""


def _sweep_file(paths):
    @st.composite
    def draw(data):
        text = SWEEP_TOML.format(seeds=data(st.integers(1, 2)), root=data(
            st.integers(0, 9)), d=data(st.integers(1, 4)), n=data(st.integers(5, 30)))
        content, invalid = text.encode(), False
        if data(st.integers(0, 1)) == 0:
            replace = data(st.sampled_from([
                ("\nseeds = ", "\nseeds = 0 #"), ("\nroot_seed = ", f"\nroot_seed = {2**64} #"),
                ("\nd = ", "\nd = 1000000000 #"), ("\nn = ", "\nn = [100000000000] #"),
                ("\nn = ", "\nn = [-1] #"), ("mu_norm = 1.0", "mu_norm = nan"),
                ("theory = false", "theory = 1"), ('"oracle"', '"oracle:x=1"'),
                ("[grid]", "[grid]\nextra = [1]"), ('name = "fz"', 'name = "a b"'),
                ("[data]", "[data]\nsigma = 1")]))
            content = text.replace(*replace, 1).encode()
            invalid = True
        elif data(st.booleans()):
            mutated = data(h.mutations(content))
            if mutated != content:
                content, invalid = mutated, None
        path = paths.root / f"sweep-{next(_COUNTER)}.toml"
        path.write_bytes(content)
        if invalid is None:
            from simulate import sweep

            try:
                sweep.check_memory(sweep.load(path))
                invalid = False
            except ValueError:
                invalid = True
        return str(path), invalid

    return st.one_of(draw(), paths.bad_inputs())


def _sweep(paths):
    out = st.one_of(st.builds(lambda: (paths.fresh_dir(next(_COUNTER)), False)),
                    paths.bad_outputs())
    return argv_from([
        flag("file", _sweep_file(paths), ["sweep", ".toml", "a-dir", "missing", "plain"]),
        flag("--out", out),
        flag("--scheduler", bad(st.sampled_from(["nowhere", "xyz://a:1", ""]))),
        flag("--executor", ok(st.just("local"))),
        flag("--workers", h.number_text(st.integers(-1, 0), st.integers(-3, 0)).map(
            lambda t: (t[0], True))),
        flag("--quiet", None),
    ], fixed=["sweep"], required=("file", "--out", "--quiet"))


def _figures(paths):
    from experiments.commands.figures import EXPERIMENT_FIGURES, FIGURES

    names = [n for n, _ in FIGURES] + [n for n, _, _ in EXPERIMENT_FIGURES]
    return argv_from([
        flag("--only", st.one_of(ok(st.sampled_from(names)), bad(st.just("everything")))),
        flag("--out", st.one_of(st.builds(lambda: (paths.fresh_dir(next(_COUNTER)), False)),
                                paths.bad_outputs())),
        flag("--quick", None), flag("--quiet", None),
        flag("--scheduler", bad(st.sampled_from(["tcp://h:1"])), ["scheduler"]),
    ], fixed=["figures"])


def _settings(preset_cfg):
    """--set KEY=VALUE: the preset's own value (valid), or one of another kind (invalid)."""
    leaves = []
    for key, value in preset_cfg.items():
        if isinstance(value, dict):
            leaves += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            leaves.append((key, value))
    invalid_for = {int: ['"abc"', "[1]", "true", "-5"], float: ['"abc"', "NaN", "Infinity"],
                   str: ["5", "[1]"], bool: ['"yes"', "2"], list: ['"abc"', "3", "[]"]}

    @st.composite
    def draw(data):
        key, value = data(st.sampled_from(leaves))
        if data(st.booleans()):
            return f"{key}={json.dumps(value)}", False
        options = invalid_for.get(type(value), ['"abc"'])
        return f"{key}={data(st.sampled_from(options))}", True

    unknown = bad(st.sampled_from(["nope=1", "train.nope=1", "x.y=1", "=1", "novalue"]))
    return st.one_of(draw(), unknown)


def _experiment(paths, command):
    module = __import__(f"experiments.{command}.presets", fromlist=["PRESETS"])
    quick = module.PRESETS["quick"]
    xlsum = paths.root / "xlsum.jsonl"
    if not xlsum.exists():
        xlsum.write_text(json.dumps({"id": "1", "url": "u", "title": "t", "summary": "s",
                                     "text": "x"}) + "\n")
    path_value = st.one_of(ok(st.just(str(xlsum))), paths.bad_inputs())
    flags = [
        flag("--preset", st.one_of(ok(st.just("quick")), bad(st.just("huge")))),
        flag("--out", st.one_of(st.builds(lambda: (paths.fresh_dir(next(_COUNTER)), False)),
                                paths.bad_outputs())),
        flag("--root-seed", h.number_text(st.integers(0, 2**32 - 1),
                                     st.integers(2**32, 2**80) | st.integers(max_value=-1))),
        flag("--set", _settings(quick), ["--set", "set", "key", "configuration", "model",
                                          "train", "retrain", "generator_train", "KEY=VALUE",
                                          *quick]),
        flag("--quiet", None),
    ]
    if command == "summarize":
        flags += [flag("--xlsum-train", path_value, ["xlsum"]),
                  flag("--xlsum-test", path_value, ["xlsum"])]
    else:
        flags.append(flag("--figure", None))

    @st.composite
    def draw(data):
        argv, invalid, hints = data(argv_from(flags, fixed=[command],
                                                   required=("--out", "--quiet")))
        if command == "summarize" and ("--xlsum-train" in argv) != ("--xlsum-test" in argv):
            invalid, hints = True, hints | {"xlsum"}
        return argv, invalid, hints

    return draw()


# --- functions and readers -----------------------------------------------------------------------

WRONG_TYPES = st.sampled_from(["abc", None, 1 + 2j, {}, object()])
NON_FINITE_VALUES = st.sampled_from([float("nan"), float("inf"), -float("inf")])


def arg(valid, invalid):
    return st.one_of(ok(valid), bad(invalid), bad(WRONG_TYPES), bad(NON_FINITE_VALUES))


def call_entry(fn, **params):
    """Draw keyword arguments (valid or not) for ``fn``; hints are the names of the bad ones."""

    @st.composite
    def draw(data):
        kwargs, invalid, hints = {}, False, set()
        for name, strategy in params.items():
            value, wrong = data(strategy)
            kwargs[name] = value
            if wrong:
                invalid = True
                hints.add(name)
        return h.Call(fn, kwargs), invalid, hints

    return draw()


def _vec(d=2):
    return st.lists(st.floats(-3, 3, **FLOATS), min_size=d, max_size=d).filter(
        lambda v: np.linalg.norm(v) > 0.1).map(np.array)


def _theory_functions(paths):
    import theory
    from theory import label_only, linear_generator, linear_verifier

    prob = arg(PROB, OUTSIDE_PROB)
    rate = arg(st.floats(0.05, 1, **FLOATS), OUTSIDE_PROB)
    lam = arg(st.floats(1e-3, 10, **FLOATS), NEGATIVE)
    vec = arg(_vec(), st.just(np.zeros(2)))
    return {
        "theory.pstar": call_entry(theory.pstar, phi=rate, psi=rate),
        "theory.selected_error_rate": call_entry(theory.selected_error_rate, p=prob, phi=rate,
                                                 psi=rate),
        "theory.bayes_accuracy": call_entry(theory.bayes_accuracy, mu=vec),
        "theory.label_only.limit_accuracy": call_entry(
            label_only.limit_accuracy, p=prob, phi=rate, psi=rate, mu=vec, lam=lam),
        "theory.linear_verifier.keep_rates": call_entry(
            linear_verifier.keep_rates, mu=vec, w_v=vec, tau=arg(st.floats(-2, 2, **FLOATS),
                                                                  st.nothing())),
        "theory.linear_generator.keep_rates": call_entry(
            linear_generator.keep_rates, mu=vec, w_g=vec, w_v=vec),
        "theory.estimate_pstar": call_entry(
            theory.estimate_pstar,
            correct=arg(st.lists(st.booleans(), min_size=2, max_size=2), st.just([0.5, 2])),
            kept=ok(st.just([True, False])),
            level=arg(st.floats(0.05, 0.95, **FLOATS), OUTSIDE_PROB)),
    }


def _sweep_dicts(paths):
    from simulate import sweep

    base = {"name": "fz", "seeds": 1, "theory": False, "data": {"d": 2, "mu_norm": 1.0},
            "grid": {"n": 10, "generator": "flip:p=0.1"}}
    bad_values = st.sampled_from([-1, 0, 2**64, 1e400, float("nan"), "x", None, [], {}, True,
                                  [1, 1], 10**12, "{p}"])

    @st.composite
    def draw(data):
        raw = json.loads(json.dumps(base))
        section = data(st.sampled_from([None, "data", "grid", "fit"]))
        key = data(st.sampled_from({
            None: ["name", "seeds", "root_seed", "theory", "description", "data", "grid"],
            "data": ["d", "mu_norm", "mu"], "grid": ["n", "lam", "loss", "real_fraction",
                                                     "generator", "pruner", "p"],
            "fit": ["tol", "max_iter"]}[section]))
        value = data(bad_values)
        target = raw if section is None else raw.setdefault(section, {})
        target[key] = value

        def thunk():
            spec = sweep.from_dict(raw, source="fz.toml")
            sweep.check_memory(spec)

        # Which of these values a key accepts is the validator's business: a result and a
        # clear line both pass, but never another exception.
        return thunk, False, {"fz.toml"}

    return draw()


def _records_round_trip(paths):
    from experiments.summarize import records

    @st.composite
    def draw(data):
        arts = data(st.lists(st.tuples(*[h.NASTY_TEXT] * 5), min_size=1, max_size=3,
                                  unique_by=lambda t: t[0]))
        cands = data(st.lists(st.tuples(h.NASTY_TEXT, st.text(max_size=10),
                                             st.floats(-1e300, 1e300, **FLOATS)),
                                   min_size=1, max_size=3))
        folder = paths.root / f"rt-{next(_COUNTER)}"

        def thunk():
            a = [records.Article(*t) for t in arts]
            c = [records.Candidate(*t) for t in cands]
            records.write_xlsum(folder / "x.jsonl", a)
            records.write_candidates(folder / "c.jsonl", c)
            if records.read_xlsum(folder / "x.jsonl") != a:
                raise AssertionError("XLSUM text changed on a round trip")
            if records.read_candidates(folder / "c.jsonl") != c:
                raise AssertionError("candidate text changed on a round trip")

        return thunk, False, set()

    return draw()


def _records_files(paths):
    from experiments.summarize import records

    good_x = h.jsonl([{"id": "1", "url": "u", "title": "t", "summary": "s", "text": "a\u2028b"},
                      {"id": "2", "url": "u", "title": "t", "summary": "s", "text": "c"}])
    good_c = h.jsonl([{"article_id": "1", "text": "x", "score": -0.5},
                      {"article_id": "1", "text": "y", "score": None}])
    lines = st.sampled_from([b'{"article_id": "1", "text": "x", "score": NaN}',
                             b'{"article_id": "1", "text": "x", "score": 1e400}',
                             b'{"article_id": "1", "text": "x", "score": ' + b"9" * 400 + b"}",
                             b'{"article_id": "1", "text": "x", "text": "y", "score": 1}',
                             b'{"article_id": 1, "text": "x", "score": 1}', b"[]", b"{",
                             b'{"id": "1"}'])

    @st.composite
    def draw(data):
        which = data(st.sampled_from(["xlsum", "candidates"]))
        reader = records.read_xlsum if which == "xlsum" else records.read_candidates
        base = good_x if which == "xlsum" else good_c
        # A bad record is invalid; a mutation may leave a valid file (a byte-order mark, a
        # repeated candidate, a cut at a line end): either outcome passes, never a traceback.
        content, invalid = data(st.one_of(
            h.mutations(base).map(lambda c: (c, False)),
            lines.map(lambda ln: (base + ln + b"\n", True))))
        path = paths.root / f"{which}-{next(_COUNTER)}.jsonl"
        path.write_bytes(content)
        return h.Call(reader, {"path": path}), invalid, {path.name}

    return draw()


def _sweep_folders(paths):
    """A finished (stub-unit) sweep folder, one of its files damaged: load_results must name
    it or return the intact table."""
    from simulate import store, sweep

    @st.composite
    def draw(data):
        folder = paths.root / f"folder-{next(_COUNTER)}"
        spec = sweep.from_dict({"name": "fz", "seeds": 2, "theory": False, "data": {"d": 2},
                                "grid": {"n": 10, "generator": "flip:p=0.1",
                                         "pruner": ["none", "oracle"]}})
        with h.light_commands():
            sweep.run(spec, folder, progress=False)
        files = [folder / "results.csv", folder / "sweep.json",
                 *sorted((folder / "units").glob("*.json"))]
        target = data(st.sampled_from(files))
        before = target.read_bytes()
        after = data(h.mutations(before))
        target.write_bytes(after)
        damaged = after != before

        def thunk():
            try:
                table = sweep.load_results(folder)
            except store.Damaged as err:
                if target.name not in str(err):
                    raise ValueError(f"names another file: {err}") from None
                raise
            if damaged and len(table) != 4:
                raise AssertionError("a damaged folder returned a table of another size")

        # A mutation that only adds a BOM or a blank line may leave JSON readable: still, the
        # checksum or the row count must catch it, or the table must be intact.
        return thunk, damaged and target.suffix == ".csv", {target.name}

    return draw()


def build(paths):
    """{entry name: (scope, strategy)}."""
    entries = {
        "cli theory": ("checked", _theory(paths)),
        "cli simulate": ("checked", _simulate(paths)),
        "cli sweep": ("checked", _sweep(paths)),
        "cli figures": ("checked", _figures(paths)),
        "cli eigen": ("checked", _experiment(paths, "eigen")),
        "cli summarize": ("checked", _experiment(paths, "summarize")),
        "sweep.from_dict": ("checked", _sweep_dicts(paths)),
        "sweep.load_results (damaged folders)": ("checked", _sweep_folders(paths)),
        "records readers (damaged files)": ("checked", _records_files(paths)),
        "records round trip (any text)": ("checked", _records_round_trip(paths)),
    }
    for name, strategy in _theory_functions(paths).items():
        entries[name] = ("checked", strategy)
    return entries


CLI_ENTRIES = {"cli theory", "cli simulate", "cli sweep", "cli figures", "cli eigen",
               "cli summarize"}
__all__ = ["build", "CLI_ENTRIES"]

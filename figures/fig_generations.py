"""Figure 6: model collapse over generations, and verification against it.

The downstream model of each generation labels the next generation's data (labels sampled from
its logistic probabilities, ``simulate.generations``), starting from a generator trained on
200 real samples (d = 100, n = 1500 per generation). Accuracy over 10 generations for no
pruning, random pruning (50 %), a linear verifier (0.6 rad off mu) and oracle pruning; mean over seeds +- 1 standard error (simulation).
Left: replace mode (each generation trains on its own fresh data), with the exact finite-n
trajectory of each chain as lines (``theory.finite.generations`` through
``simulate.generations.theory_trajectory``; the initial generator enters through the
proportional limit of its own fit). Right: accumulate mode (each generation trains on all data
kept so far), simulation only: the theory has no exact reduction there (docs/theory.md,
"Generations (`theory.finite.generations`, replace mode)"). Results are stored in ``figures/data/generations/`` (CSV + JSON configuration) and recomputed
only when missing or when the configuration changes.

    python -m figures.fig_generations [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

from figures import _common

STEM = "fig_generations"
FULL = {"d": 100, "mu_norm": 1.5, "n": 1500, "generations": 10, "n_real": 200, "seeds": 8,
        "root_seed": 6, "lam": 1e-2, "labels": "sample",
        "pruners": ["none", "random:rate=0.5", "linear:angle=0.6", "oracle"],
        "modes": ["replace", "accumulate"]}
QUICK = {**FULL, "d": 10, "seeds": 3, "n": 150, "n_real": 20}
LABELS = {"none": "no pruning", "random:rate=0.5": "random 50 %",
          "linear:angle=0.6": "linear verifier, angle 0.6 rad", "oracle": "oracle pruning"}


def results(config, data_dir, progress=True):
    """The stored table for ``config``, computed (and stored atomically) if missing or stale."""
    from simulate import generators, specs, store
    from simulate.generations import generations
    from simulate.table import Table

    target = data_dir / "generations"
    meta_path, csv_path = target / "config.json", target / "results.csv"
    if meta_path.exists() and csv_path.exists() and store.read_json(meta_path) == config:
        _, rows = store.read_csv(csv_path)
        return Table(rows, config)
    mu = np.zeros(config["d"])
    mu[0] = config["mu_norm"]
    pruners = [specs.pruner(s, mu) for s in config["pruners"]]
    if progress:
        print(f"simulating {config['generations']} generations x {len(pruners)} pruners x "
              f"{config['seeds']} seeds ...", file=sys.stderr)
    rows = []
    for mode in config["modes"]:
        table = generations(mu, config["n"], generations=config["generations"],
                            initial=generators.trained(config["n_real"]), pruners=pruners,
                            labels=config["labels"], lam=config["lam"], seeds=config["seeds"],
                            root_seed=config["root_seed"], mode=mode, with_theory=True)
        for row in table.rows:
            row["pruner_spec"] = config["pruners"][row["pruner_index"]]
        rows += table.rows
    table = Table(rows, config)
    store.write_csv(csv_path, table.columns, table.rows)
    store.write_json(meta_path, config)
    return table


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    config = QUICK if quick else FULL
    table = results(config, _common.data_dir_for(quick, out_dir), progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(config["modes"]), figsize=(6.2 * len(config["modes"]), 4.6),
                             sharey=True, squeeze=False)
    from theory import bayes_accuracy

    mu = np.zeros(config["d"])
    mu[0] = config["mu_norm"]
    bayes = float(bayes_accuracy(mu))
    for ax, mode in zip(axes[0], config["modes"]):
        rows = [r for r in table.rows if r["mode"] == mode]
        groups = _common.group(type(table)(rows), ("pruner_spec", "generation"))
        theory = _common.group(type(table)(rows), ("pruner_spec", "generation"),
                               "theory_accuracy")
        for spec in config["pruners"]:
            gens = sorted(g for s, g in groups if s == spec)
            bars = ax.errorbar(gens, [groups[(spec, g)][0] for g in gens],
                               yerr=[groups[(spec, g)][1] for g in gens], fmt="o",
                               label=f"{LABELS.get(spec, spec)} (simulation)")
            line = [theory[(spec, g)][0] for g in gens]
            if np.isfinite(line).any():
                ax.plot(gens, line, color=bars[0].get_color(), lw=1.3)
        ax.axhline(bayes, color="k", ls="--", lw=1.2)
        ax.set_xlabel("generation (0 = generator trained on real data)")
        ax.set_xticks(range(config["generations"] + 1))
        ax.set_title(f"{mode}: " + ("each generation on its own data, lines: finite-n theory"
                                    if mode == "replace" else
                                    "each generation on all data so far (no exact theory)"),
                     fontsize=10)
    axes[0][0].set_ylabel("test accuracy of the generation's model")
    axes[0][0].plot([], [], color="0.3", lw=1.3, label="finite-n theory (replace)")
    axes[0][0].plot([], [], color="k", ls="--", lw=1.2, label=f"Bayes accuracy {bayes:.3f}")
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(f"Retraining on the previous model's sampled labels (n = {config['n']} per "
                 f"generation, d = {config['d']}, initial generator on {config['n_real']} real "
                 f"samples, {config['seeds']} seeds)")
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())

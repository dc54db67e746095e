"""Figure 6: model collapse over generations, and verification against it.

The downstream model of each generation labels the next generation's data (labels sampled from
its logistic probabilities, ``simulate.generations``), starting from a generator trained on 40
real samples. Accuracy over 10 generations for no pruning, random pruning (50 %), a linear
verifier (0.6 rad off mu) and oracle pruning; mean over seeds +- 1 standard error (simulation).
Results are stored in ``figures/data/generations/`` (CSV + JSON configuration) and recomputed
only when missing or when the configuration changes.

    python -m figures.fig_generations [--quick] [--out DIR]
"""

from __future__ import annotations

import sys

import numpy as np

from figures import _common

STEM = "fig_generations"
FULL = {"d": 20, "mu_norm": 1.5, "n": 300, "generations": 10, "n_real": 40, "seeds": 8,
        "root_seed": 6, "lam": 1e-2, "labels": "sample",
        "pruners": ["none", "random:rate=0.5", "linear:angle=0.6", "oracle"]}
QUICK = {**FULL, "d": 10, "seeds": 3, "n": 200}
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
    table = generations(mu, config["n"], generations=config["generations"],
                        initial=generators.trained(config["n_real"]), pruners=pruners,
                        labels=config["labels"], lam=config["lam"], seeds=config["seeds"],
                        root_seed=config["root_seed"])
    for row in table.rows:
        row["pruner_spec"] = config["pruners"][row["pruner_index"]]
    store.write_csv(csv_path, table.columns + ["pruner_spec"], table.rows)
    store.write_json(meta_path, config)
    return table


def render(quick=False, out_dir=None, executor="local", scheduler=None, progress=True):
    config = QUICK if quick else FULL
    table = results(config, _common.data_dir_for(quick, out_dir), progress)
    _common.use_style()
    import matplotlib.pyplot as plt

    groups = _common.group(table, ("pruner_spec", "generation"))
    fig, ax = plt.subplots(figsize=(8.8, 4.4))
    for spec in config["pruners"]:
        gens = sorted(g for s, g in groups if s == spec)
        ax.errorbar(gens, [groups[(spec, g)][0] for g in gens],
                    yerr=[groups[(spec, g)][1] for g in gens], marker="o",
                    label=f"{LABELS.get(spec, spec)} (simulation)")
    from theory import bayes_accuracy

    mu = np.zeros(config["d"])
    mu[0] = config["mu_norm"]
    bayes = float(bayes_accuracy(mu))
    ax.axhline(bayes, color="k", ls="--", lw=1.2, label=f"Bayes accuracy {bayes:.3f} (theory)")
    ax.set_xlabel("generation (0 = generator trained on real data)")
    ax.set_ylabel("test accuracy of the generation's model")
    ax.set_xticks(range(config["generations"] + 1))
    ax.set_title(f"Retraining on the previous model's sampled labels (n = {config['n']} per "
                 f"generation, d = {config['d']}, {config['seeds']} seeds)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _common.save(fig, STEM, _common.out_dir_for(quick, out_dir))


def main(argv=None) -> int:
    return _common.script_main(render, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    sys.exit(main())

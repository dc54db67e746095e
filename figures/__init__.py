"""One script per figure, each regenerated from stored results (``beyond-collapse figures``).

Simulation figures read the results of a sweep file in ``figures/sweeps/`` (running it first when
they are missing; ``--quick`` uses the reduced ``*-quick.toml`` grids and writes elsewhere):

- ``fig_collapse``: accuracy against the number of synthesized samples, with and without
  verification, beside the generator's and the Bayes accuracy.
- ``fig_phase_transition``: accuracy against the generator error p for several p*, n -> inf
  theory as lines, simulations at increasing n as points.
- ``fig_pstar_correlation``: final accuracy against the measured p* across many verifiers.
- ``fig_selection_rate``: top-r selection at 12.5 %, 25 %, 50 % and 100 %.
- ``fig_generations``: model collapse over generations, with and without verification, in
  replace and accumulate mode.

Each draws the finite-n theory of what it simulates beside the points (stored curves of
``simulate.curves`` / ``simulate.generations.theory_trajectory``). Theory figures:
``fig_breakdown_gap`` (proxy p* against the exact breakdown of a linear verifier),
``fig_breakdown_map`` (the finite-n breakdown of three verifiers of equal p*) and ``fig_finite``
(finite-sample learning curves over stored simulations).
"""

import argparse
from pathlib import Path

# Stored results the figures are drawn from (public: the command line checks what is there).
DATA = Path(__file__).resolve().parent / "data"


def add_figure_preset(parser) -> None:
    """``--preset quick|full`` and its shorthand ``--quick`` (``beyond-collapse figures`` and
    every figure script)."""
    parser.add_argument("--preset", choices=("quick", "full"), default="full",
                        help="grid size: full (figures/, figures/data/) or quick (reduced "
                        "grids, into results/quick/); default full")
    parser.add_argument("--quick", dest="preset", action="store_const", const="quick",
                        help="the same as --preset quick")


def add_recompute(parser) -> None:
    """``--recompute``: figures whose numbers the script computes (not swept) redo them."""
    parser.add_argument("--recompute", action="store_true",
                        help="recompute the figures' stored numbers instead of reading them")
    parser.add_argument("--resimulate", dest="recompute", action="store_true",
                        help=argparse.SUPPRESS)  # fig_finite's old spelling

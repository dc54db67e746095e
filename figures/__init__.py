"""One script per figure, each regenerated from stored results (``beyond-collapse figures``).

Simulation figures read the results of a sweep file in ``figures/sweeps/`` (running it first when
they are missing; ``--quick`` uses the reduced ``*-quick.toml`` grids and writes elsewhere):

- ``fig_collapse``: accuracy against the number of synthesized samples, with and without
  verification, beside the generator's and the Bayes accuracy.
- ``fig_phase_transition``: accuracy against the generator error p for several p*, n -> inf
  theory as lines, simulations at increasing n as points.
- ``fig_pstar_correlation``: final accuracy against the measured p* across many verifiers.
- ``fig_selection_rate``: top-r selection at 12.5 %, 25 %, 50 % and 100 %.
- ``fig_generations``: model collapse over generations, with and without verification.

Theory figures: ``fig_breakdown_gap`` (proxy p* against the exact breakdown of a linear
verifier) and ``fig_finite`` (finite-sample learning curves over stored simulations).
"""

from pathlib import Path

# Stored results the figures are drawn from (public: the command line checks what is there).
DATA = Path(__file__).resolve().parent / "data"

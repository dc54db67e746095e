"""The eigen verifiers on the selection interface reproduce the selections recorded from the
code before it (tests/data/record_selection_reference.py, at c35f981), bit for bit."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from experiments.eigen import verifiers
from simulate import selection

REFERENCE = np.load(Path(__file__).parents[2] / "data" / "selection_reference.npz")


def _candidates():
    r = REFERENCE
    return verifiers.Candidates(r["eig_preds"], r["eig_errors"], r["eig_truth"], r["eig_gen"],
                                r["eig_model"], 0.05)


@pytest.mark.parametrize("i, spec", list(enumerate(REFERENCE["eig_specs"])))
def test_recorded_eigen_selections_are_reproduced_bit_for_bit(i, spec):
    cand = _candidates()
    with jax.enable_x64(False):  # as the pipeline runs
        sel = verifiers.select(str(spec), cand, jax.random.fold_in(jax.random.key(11), i))
    for field in sel._fields:
        np.testing.assert_array_equal(np.asarray(getattr(sel, field)),
                                      REFERENCE[f"eig_{i}_{field}"], err_msg=f"{spec} {field}")


def test_every_eigen_verifier_is_a_selector_of_the_shared_interface():
    for spec in ("none", "random:rate=0.5", "oracle", "best_of_beam", "flip:r=0.1",
                 "perturbed:s=0.1", "model:rate=0.5", "self:rate=0.5"):
        assert isinstance(verifiers.verifier(spec).selector, selection.Selector), spec
    assert verifiers.verifier("flip:r=0.25").selector == selection.LabelOnly(0.75, 0.25)
    assert verifiers.verifier("best_of_beam").beam and not verifiers.verifier("oracle").beam

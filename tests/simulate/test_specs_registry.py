"""The one spec registry: every setting's kinds parse, check and build the same way."""

from __future__ import annotations

import numpy as np
import pytest

from simulate import pruners, selection, specs


def test_the_settings_share_one_registry_and_its_entries():
    from experiments.eigen import verifiers as eigen
    from experiments.summarize import verifiers as summarize

    assert {"generator", "pruner", "selector", "eigen", "summarize"} <= set(specs.REGISTRY)
    assert specs.registry("eigen") is eigen.SPECS and specs.registry("summarize") is summarize.SPECS
    # one definition of the shared kinds: the same entry object in each registry
    for kind in ("none", "random"):
        entry = specs.SELECTORS._kinds[kind]
        assert specs.PRUNERS._kinds[kind] is entry and eigen.SPECS._kinds[kind] is entry


@pytest.mark.parametrize("text, built", [
    ("none", selection.NoPruning()), ("random:rate=0.25", selection.Random(0.25)),
    ("oracle", selection.Oracle()), ("label_only:phi=0.9,psi=0.3", selection.LabelOnly(0.9, 0.3)),
    ("flip:r=0.2", selection.LabelOnly(0.8, 0.2)), ("threshold:tau=-1", selection.Threshold(-1.0)),
    ("top_r:rate=0.5", selection.TopR(0.5)), ("best_of_k", selection.BestOfK()),
    ("best_of_k:tau=0", selection.BestOfK(0.0)),
])
def test_selector_specs_build_their_selectors(text, built):
    assert specs.selector(text) == built


def test_pruner_specs_count_and_place_directions():
    mu = np.array([2.0, 0.0])
    sup = specs.pruner("supervised:n_real=50,rate=0.25", mu)
    assert sup == pruners.supervised(50, rate=0.25) and isinstance(sup.n_real, int)
    lin = specs.pruner("linear:angle=0,tau=0.5", mu)
    np.testing.assert_allclose(lin.w_v, [1.0, 0.0])
    assert float(lin.tau) == 0.5


@pytest.mark.parametrize("text, match", [
    ("magic", "unknown selector 'magic'"), ("random", "missing parameters"),
    ("oracle:rate=0.5", "unknown parameters"), ("random:rate=0", "rate out of range"),
    ("flip:r=1.5", "r out of range"), ("top_r:rate=x", "must be a number"),
    ("random:rate=0.1,rate=0.2", "given twice"), ("label_only:phi=0.5", "missing parameters"),
])
def test_bad_selector_specs_say_what_is_wrong(text, match):
    with pytest.raises(ValueError, match=match):
        specs.selector(text)


def test_counts_and_registration_errors():
    with pytest.raises(ValueError, match="n_real must be a positive integer"):
        specs.pruner("supervised:n_real=2.5", np.ones(2))
    reg = specs.Registry("thing")
    reg.add("a", lambda p: p)
    with pytest.raises(ValueError, match="registered already"):
        reg.add("a", lambda p: p)
    assert reg.build("a") == {}
    reg.remove("a")
    assert reg.kinds == ()
    with pytest.raises(ValueError, match="no thing 'a'"):
        reg.remove("a")

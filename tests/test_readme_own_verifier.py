"""The README's "Your own verifier" snippet runs as written (and its checks pass)."""

from __future__ import annotations

import re
from pathlib import Path

from experiments.eigen import verifiers as eigen

README = Path(__file__).parents[1] / "README.md"


def test_your_own_verifier_snippet_runs():
    text = README.read_text()
    section = text.split("## Your own verifier", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    scope: dict = {}
    try:
        exec(compile(code, "README.md#your-own-verifier", "exec"), scope)
        assert scope["table"].column("pruner").tolist() == ["noisy_oracle"] * 2
        sel = eigen.select("noisy_oracle", _eigen_candidates(), scope["jax"].random.key(0))
        assert sel.kept.shape == (3,)
    finally:
        if "noisy_oracle" in eigen.SPECS.kinds:  # the registry is global: leave it as found
            eigen.SPECS.remove("noisy_oracle")


def _eigen_candidates():
    import numpy as np

    errors = np.array([[0.0], [0.5], [0.01]])
    return eigen.Candidates(np.zeros((3, 1, 1)), errors, np.ones((3, 1)), np.zeros((3, 1)),
                            np.zeros((3, 1)), 0.05)

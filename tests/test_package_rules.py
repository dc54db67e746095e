"""The packages depend on each other in one direction only, and every import obeys it.

    theory       imports nothing of the project
    simulate     imports theory
    experiments  imports simulate and theory; only the command line (experiments.cli,
                 experiments.commands) also imports figures, the one code that calls them
    figures      imports simulate and theory, never an experiment pipeline (reading a stored
                 run must not load the training code)

Across packages only public modules and names are imported (a leading underscore marks what a
package may change without notice), and nothing imports benchmarks/, scripts/, tests/ or
examples/, which a wheel does not install. Every module is parsed, so imports inside functions
count as much as those at the top.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "simulate", "experiments", "figures")
NOT_INSTALLED = ("benchmarks", "scripts", "tests", "examples")
ALLOWED = {
    "theory": set(),
    "simulate": {"theory"},
    "experiments": {"simulate", "theory"},
    "figures": {"simulate", "theory"},
}
# The command line: the only modules that may import figures.
CLI = ("experiments.cli", "experiments.commands")
# Third-party packages that are the training code figures must not load.
TRAINING = ("equinox", "optax")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path):
    """(line, imported module, imported names or ()) of every import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield node.lineno, module, tuple(a.name for a in node.names)


def _is_cli(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in CLI)


def violations(root: Path) -> list[str]:
    """Every import under ``root``'s four packages that breaks the rules, as 'file:line: why'."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            importer = _module_name(path, root)
            where = f"{path.relative_to(root)}"
            for line, module, names in _imports(path, root):
                top = module.split(".")[0]
                at = f"{where}:{line}: {importer} imports {module}"
                if top in NOT_INSTALLED:
                    found.append(f"{at}: {top}/ is not installed with the package")
                    continue
                if top == "figures" and package == "figures":
                    pass
                elif top in TRAINING and package == "figures":
                    found.append(f"{at}: figures must not load training code")
                    continue
                if top not in PACKAGES or top == package:
                    continue
                allowed = ALLOWED[package] | ({"figures"} if _is_cli(importer) else set())
                if top not in allowed:
                    found.append(f"{at}: {package} may import only "
                                 f"{', '.join(sorted(allowed)) or 'no project package'}")
                    continue
                private = [p for p in module.split(".")[1:] if p.startswith("_")]
                private += [n for n in names if n.startswith("_")]
                if private:
                    found.append(f"{at}: private across packages ({', '.join(private)})")
    return found


def test_the_packages_obey_the_rules():
    assert violations(ROOT) == []


def _tree(tmp_path, files: dict) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


@pytest.mark.parametrize("files, expected", [
    ({"theory/a.py": "import simulate\n"}, "theory may import only no project package"),
    ({"simulate/a.py": "def f():\n    from experiments import cli\n"},
     "simulate may import only theory"),
    ({"experiments/eigen/a.py": "from figures import fig_eigen\n"},
     "experiments may import only simulate, theory"),
    ({"figures/fig_x.py": "def render():\n    from experiments.eigen import pipeline\n"},
     "figures may import only simulate, theory"),
    ({"figures/fig_x.py": "import equinox\n"}, "figures must not load training code"),
    ({"figures/fig_x.py": "from benchmarks._finite_simulation import simulate\n"},
     "benchmarks/ is not installed"),
    ({"simulate/a.py": "from theory._numerics import unit_scaled\n"},
     "private across packages (_numerics)"),
    ({"simulate/a.py": "from theory import _validate\n"}, "private across packages (_validate)"),
    ({"experiments/commands/x.py": "from figures import _common\n"},
     "private across packages (_common)"),
    ({"experiments/commands/sub/x.py": "from ...eigen import pipeline\nimport tests.helpers\n"},
     "tests/ is not installed"),
])
def test_the_checker_catches_a_violating_module(tmp_path, files, expected):
    found = violations(_tree(tmp_path, files))
    assert len(found) == 1 and expected in found[0], found


def test_the_checker_allows_what_the_rules_allow(tmp_path):
    files = {
        "simulate/a.py": "import theory\nfrom theory import scenario\nfrom . import b\n",
        "experiments/eigen/a.py": "from simulate.pruners import measure\nfrom .. import _stats\n",
        "experiments/commands/x.py": "from figures import fig_eigen\nfrom . import _args\n",
        "experiments/cli.py": "import figures.fig_collapse\n",
        "figures/fig_x.py": "from figures import _common\nfrom simulate import store\n",
    }
    assert violations(_tree(tmp_path, files)) == []


def test_relative_imports_resolve_to_their_package(tmp_path):
    # ``from .. import x`` two levels down names the top package; a resolution off by one
    # level would name a sibling package and the rules would check the wrong thing.
    files = {"experiments/eigen/b.py": "from .. import _stats\nfrom .data import x\n",
             "experiments/eigen/__init__.py": "from . import b\n"}
    _tree(tmp_path, files)
    assert list(_imports(tmp_path / "experiments/eigen/b.py", tmp_path)) == [
        (1, "experiments", ("_stats",)), (2, "experiments.eigen.data", ("x",))]
    assert list(_imports(tmp_path / "experiments/eigen/__init__.py", tmp_path)) == [
        (1, "experiments.eigen", ("b",))]


def test_figures_load_no_training_code():
    # The static rules see direct imports; this catches one through an allowed module.
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import figures
        for info in pkgutil.iter_modules(figures.__path__):
            importlib.import_module("figures." + info.name)
        loaded = sorted(m for m in sys.modules
                        if m.split(".")[0] in ("equinox", "optax", "experiments"))
        print(",".join(loaded))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == ""

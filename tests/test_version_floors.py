"""The floors stated in pyproject.toml are the versions .ci/run installs and tests."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floors(requirements):
    out = {}
    for req in requirements:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?>=([0-9][0-9a-zA-Z.]*)$", req)
        if match:
            out[match.group(1).lower()] = match.group(3)
    return out


def test_pinned_minimums_are_the_stated_floors():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = _floors(project["dependencies"])
    floors["pandas"] = _floors(project["optional-dependencies"]["pandas"])["pandas"]
    pins = {}
    for line in (ROOT / ".ci" / "minimum-versions.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    for name, floor in floors.items():
        assert name in pins, f"{name} has a floor but no pinned minimum"
        padded = lambda v: tuple(int(x) for x in v.split("."))  # noqa: E731
        assert padded(pins[name]) == padded(floor) + (0,) * (
            len(padded(pins[name])) - len(padded(floor))), (name, floor, pins[name])
    assert pins["jaxlib"] == pins["jax"]
    assert project["requires-python"] == ">=3.11"


def test_the_ci_installs_the_minimums_after_the_readme_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme_line = 'pip install -e ".[test]" && python -m pytest -n 2'
    assert readme_line in ci
    assert ci.index(readme_line) < ci.index("minimum-versions.txt")

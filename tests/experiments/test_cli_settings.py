"""``--set KEY=VALUE`` overrides of the experiment presets."""

import argparse

import pytest

from experiments import cli
from experiments.commands import _args
from experiments.eigen import presets as eigen_presets


def test_setting_parses_dotted_keys_and_json_values():
    assert _args.setting("retrain.steps=6000") == (["retrain", "steps"], 6000)
    assert _args.setting("sizes=[5, 10]") == (["sizes"], [5, 10])
    assert _args.setting("title_in_source=false") == (["title_in_source"], False)
    assert _args.setting("encoding=P1000") == (["encoding"], "P1000")
    for bad in ("steps", "=3", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="KEY=VALUE"):
            _args.setting(bad)


def test_apply_settings_copies_and_names_bad_keys():
    base = eigen_presets.preset("quick")
    new = _args.apply_settings(base, [(["retrain", "steps"], 7), (["n_test"], 9)])
    assert new["retrain"]["steps"] == 7 and new["n_test"] == 9
    assert base["retrain"]["steps"] == 20 and base["n_test"] == 50  # the preset is untouched
    with pytest.raises(ValueError, match="retrain.stepz"):
        _args.apply_settings(base, [(["retrain", "stepz"], 7)])
    with pytest.raises(ValueError, match="n_test is not a section"):
        _args.apply_settings(base, [(["n_test", "x"], 7)])


@pytest.mark.parametrize("command", ["eigen", "summarize"])
def test_cli_rejects_bad_settings_naming_the_key(command, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main([command, "--preset", "quick", "--out", out, "--set", "n_tset=3"]) == 2
    assert "n_tset" in capsys.readouterr().err
    assert cli.main([command, "--preset", "quick", "--out", out, "--set", "n_test=-1"]) == 2
    assert "n_test" in capsys.readouterr().err

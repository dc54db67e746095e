"""The command line's persistent compilation cache: in the user's cache directory by default,
off with --no-compile-cache or the environment variable, and a chosen directory is kept. Run in
subprocesses so the test process's own JAX settings are not touched."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import jax, sys
from experiments import cli
rc = cli.main(sys.argv[1:])
print("CACHE", jax.config.jax_enable_compilation_cache, jax.config.jax_compilation_cache_dir)
"""


def _run(tmp_path, *args, **env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("JAX_COMPILATION_CACHE", "JAX_PERSISTENT_CACHE",
                                  "BEYOND_COLLAPSE_NO_COMPILE"))}
    clean.update(XDG_CACHE_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT), **env)
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env=clean, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()[-1].split()


def test_on_by_default_in_the_users_cache_directory(tmp_path):
    _, enabled, where = _run(tmp_path, "theory", "pstar", "--phi", "0.9", "--psi", "0.3")
    cache = tmp_path / "xdg" / "beyond-collapse" / "jax"
    assert enabled == "True" and where == str(cache)
    # Something compiled on the way is now on disk for the next run.
    _run(tmp_path, "theory", "label-only", "--p", "0.1", "--phi", "0.9", "--psi", "0.3")
    assert any(cache.iterdir())


def test_off_by_flag_or_environment(tmp_path):
    assert _run(tmp_path, "--no-compile-cache", "theory", "pstar", "--phi", "0.9",
                "--psi", "0.3")[1] == "False"
    assert _run(tmp_path, "theory", "pstar", "--phi", "0.9", "--psi", "0.3",
                BEYOND_COLLAPSE_NO_COMPILE_CACHE="1")[1] == "False"
    assert not (tmp_path / "xdg" / "beyond-collapse").exists()


def test_a_directory_the_caller_chose_is_kept(tmp_path):
    chosen = tmp_path / "mine"
    _, enabled, where = _run(tmp_path, "theory", "pstar", "--phi", "0.9", "--psi", "0.3",
                             JAX_COMPILATION_CACHE_DIR=str(chosen))
    assert enabled == "True" and where == str(chosen)

"""The ``beyond-collapse`` command line.

Each subcommand lives in ``experiments/commands/<name>.py`` and exposes
``add_arguments(parser)``, ``main(args) -> int`` and ``EXAMPLES`` (command lines shown in its
``--help``; tests/experiments/test_cli_help.py runs every one of them).

Flags mean the same everywhere: ``--root-seed`` the seed all randomness derives from,
``--seeds`` a count of seeds, ``--out`` the output directory, ``--json`` one JSON document on
stdout, ``--preset`` a named configuration, ``--quiet`` no progress output.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (command, module, one-line help); modules that are not installed yet are skipped.
COMMANDS = [
    ("theory", "experiments.commands.theory", "closed-form calculators and the theory report"),
    ("simulate", "experiments.commands.simulate", "Gaussian-mixture simulations of the pipeline"),
    ("sweep", "experiments.commands.sweep", "run a sweep file into a resumable results directory"),
    ("figures", "experiments.commands.figures", "regenerate the figures from stored results"),
    ("eigen", "experiments.commands.eigen", "the eigenvalue experiment: generate, verify, retrain"),
    ("summarize", "experiments.commands.summarize",
     "the summarization pipeline: candidates, verifiers, ROUGE, p*"),
]


def _epilog(examples: str) -> str:
    lines = [line for line in examples.strip("\n").splitlines()]
    return "examples:\n" + "\n".join("  " + line for line in lines)


def _chosen_command(argv) -> str | None:
    """The subcommand named in ``argv`` (its first word that is one), or None."""
    names = {name for name, _, _ in COMMANDS}
    for word in argv:
        if word in names:
            return word
        if not word.startswith("-"):
            return None  # not a command: argparse reports it
    return None


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser of every subcommand; given ``argv``, only the subcommand it names is built in
    full (the others only list their one-line help), so that a run imports one command's
    libraries (JAX takes a second or two to import) and ``--help`` none."""
    parser = argparse.ArgumentParser(
        prog="beyond-collapse",
        description="Training on synthesized data: when it collapses and how verification "
        "prevents it (arXiv 2406.07515).",
    )
    parser.add_argument(
        "--no-compile-cache", action="store_true",
        help="do not keep compiled JAX programs between runs (by default they are cached in "
        "$XDG_CACHE_HOME/beyond-collapse/jax; the environment variable "
        "BEYOND_COLLAPSE_NO_COMPILE_CACHE=1 does the same)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else _chosen_command(argv)
    for name, module_name, help_text in COMMANDS:
        if argv is not None and name != chosen:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        examples = getattr(module, "EXAMPLES", "")
        cmd = sub.add_parser(name, help=help_text, description=help_text,
                             epilog=_epilog(examples) if examples else None,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.main)
    return parser


def main(argv=None) -> int:
    from experiments import _cache
    from experiments.commands._args import join_negative_values

    argv = join_negative_values(sys.argv[1:] if argv is None else list(argv))
    args = build_parser(argv).parse_args(argv)
    try:
        _cache.enable(disabled=args.no_compile_cache)
        return int(args._run(args) or 0)
    except ValueError as err:
        message = str(err)
    except OSError as err:  # a path that cannot be read or written, an unreachable host
        message = f"{err.filename}: {err.strerror}" if err.filename else str(err)
    print(f"beyond-collapse {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

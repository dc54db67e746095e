"""The ``beyond-collapse`` command line.

Each subcommand lives in ``experiments/commands/<name>.py`` and exposes
``add_arguments(parser)`` and ``main(args) -> int``.
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beyond-collapse",
        description="Training on synthesized data: when it collapses and how verification "
        "prevents it (arXiv 2406.07515).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
        cmd.set_defaults(_run=module.main)
    return parser


def main(argv=None) -> int:
    from experiments.commands._args import join_negative_values

    parser = build_parser()
    args = parser.parse_args(join_negative_values(sys.argv[1:] if argv is None else list(argv)))
    try:
        return int(args._run(args) or 0)
    except ValueError as err:
        message = str(err)
    except OSError as err:  # a path that cannot be read or written, an unreachable host
        message = f"{err.filename}: {err.strerror}" if err.filename else str(err)
    print(f"beyond-collapse {args.command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())

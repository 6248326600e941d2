"""Command line of the lessons.

    python -m lessons validate [--dir D]

Prints one `file:line: reason` per problem (unknown card or demo ids, unknown sections or
params, missing texts, bad YAML) and exits 1 when there is any; else a summary and exit 0.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lessons", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate", help="check every lesson file; non-zero exit on any problem")
    v.add_argument("--dir", default=None, help="lessons directory (default: lessons/ or $TIL_LESSONS_DIR)")
    args = parser.parse_args(argv)
    from lessons import report

    return report(args.dir)


if __name__ == "__main__":
    sys.exit(main())

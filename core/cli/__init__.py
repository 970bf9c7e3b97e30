"""The CLI over the core functions: every command prints exactly one JSON object on stdout.

Errors exit non-zero with {"error": "..."}; progress goes to stderr. Keep commands stable:
other people's automation depends on them. Each command group is a module holding its parsers and
handlers; a handler takes the command's Context (lake, acting user, progress) and the parsed arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence

import duckdb

from core.cli import access, data, features, governance, monitoring, operations, review, tokens, training, validation
from core.cli._args import check_bounds, json_default
from core.cli import _context
from core.cli._context import Context, Parser, sign_in
from core.config import redact
from core.errors import AssayError
from core.lake import Lake, identity

GROUPS = (data, features, training, review, governance, access, operations, monitoring, tokens, validation)

__all__ = ["Context", "GROUPS", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m core", description="Assay: responsible-AI review over a DuckDB lake.")
    parser.add_argument("--lake", help="folder of the lake (default: $ASSAY_LAKE or data/lake)")
    parser.add_argument("--as", dest="as_user", metavar="USER",
                        help="act as this account, proven by its credential (default: the local administrator)")
    parser.add_argument("--password-stdin", action="store_true",
                        help="with --as: read the account's password from the first line of standard input")
    parser.add_argument("--token-stdin", action="store_true",
                        help="read an API token from the first line of standard input (or set ASSAY_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None, out=None) -> int:
    out = out or sys.stdout
    try:
        args = build_parser().parse_args(argv)
        check_bounds(args)
        if getattr(args, "role_positional", None):
            args.role = args.role or args.role_positional
        lake = Lake.open(args.lake, sweep=args.command != "doctor")  # doctor reports leftovers before removing them
        try:
            with identity.using("cli"):
                signed_in = sign_in(lake, args)  # --as needs the account's credential
                result = args.handler(Context(lake=lake, actor=signed_in or _context.local_actor()), args)
        finally:
            lake.close()
        code = 1 if result.get("ok") is False else 0  # a check that ran and found a problem (audit verify)
    except AssayError as exc:
        result, code = {"error": str(exc)}, 2
    except duckdb.Error as exc:
        result, code = {"error": f"The lake reported an error: {str(exc).splitlines()[0][:400]}"}, 1
    except SystemExit as exc:  # --help
        if exc.code in (0, None):
            return 0
        result, code = {"error": "invalid arguments"}, 2
    except (OSError, ValueError) as exc:
        result, code = {"error": f"{type(exc).__name__}: {exc}"}, 1
    except MemoryError:  # the last line of defence: the limits in core.features and DuckDB's memory limit come first
        result, code = {"error": "Out of memory: the command needed more memory than this process may have. "
                                 "Lower ASSAY_MEMORY_LIMIT or ask for less (fewer rows or columns)."}, 1
    if code == 2 or (code == 1 and "error" in result):
        result = {"error": redact(str(result["error"]))}  # no password or key ever reaches the terminal or a log
    out.write(json.dumps(result, default=json_default, allow_nan=False) + "\n")
    return code

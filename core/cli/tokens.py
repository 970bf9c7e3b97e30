"""Commands for bearer tokens of the real-time endpoint: tokens add NAME --role scorer | tokens list | tokens revoke ID."""
from __future__ import annotations

from core.cli._context import Context
from core.errors import InputError
from core.governance import tokens


def cmd_tokens(ctx: Context, args) -> dict:
    if args.action == "list":
        return {"tokens": tokens.list_tokens(ctx.lake)}
    if not args.name:
        raise InputError("Name the account or service: tokens add NAME --role scorer."
                         if args.action == "add" else "Name the token: tokens revoke TOKEN_ID (see `tokens list`).")
    if args.action == "revoke":
        return tokens.revoke(ctx.lake, args.name, actor=ctx.actor)
    if not args.role:
        raise InputError(f"Give the token's role: tokens add {args.name} --role {'|'.join(tokens.ROLES)}.")
    return tokens.add(ctx.lake, args.name, role=args.role, actor=ctx.actor)


def register(sub) -> None:
    p = sub.add_parser("tokens", help="bearer tokens for the endpoint: tokens add NAME --role scorer (shown once) | "
                                      "tokens list | tokens revoke TOKEN_ID")
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("name", nargs="?", metavar="NAME|TOKEN_ID", help="add: an account or a service; revoke: the token's id")
    p.add_argument("--role", choices=list(tokens.ROLES), help="add: what the token may do (scorer: call the endpoint)")
    p.set_defaults(handler=cmd_tokens)

"""Commands of access and record: accounts, the audit trail, and the doctor."""
from __future__ import annotations

import getpass
import json
import sys

from core.governance import accounts
from core.lake import audit, permissions
from core.cli._context import Context
from core.errors import InputError


def cmd_users(ctx: Context, args) -> dict:
    if args.action in (None, "list"):
        return {"users": [{**a.__dict__, "signoff_roles": accounts.signoff_roles(ctx.lake, a.name),
                           "locked": accounts.sign_in_state(ctx.lake, a.name)["locked"]}
                          for a in accounts.list_accounts(ctx.lake)], "single_user": accounts.single_user(ctx.lake)}
    if args.action == "policy":
        if args.lock_after is None and args.backoff_seconds is None:
            return accounts.sign_in_policy(ctx.lake)
        return accounts.set_sign_in_policy(ctx.lake, actor=ctx.actor, lock_after=args.lock_after,
                                           backoff_seconds=args.backoff_seconds)
    if not args.name:
        raise InputError(f"Name the account: users {args.action} NAME.")
    if args.action in ("grant", "revoke"):
        if not args.signoff_role:
            raise InputError(f"Name the sign-off role: users {args.action} NAME --signoff-role ROLE.")
        change = accounts.grant_signoff_role if args.action == "grant" else accounts.revoke_signoff_role
        return {"name": args.name, "signoff_roles": change(ctx.lake, args.name, args.signoff_role, actor=ctx.actor)}
    if args.action == "token":
        return accounts.issue_token(ctx.lake, args.name, actor=ctx.actor)
    if args.action == "unlock":
        return accounts.unlock(ctx.lake, args.name, actor=ctx.actor)
    if args.action == "add":
        if not args.role:
            raise InputError("Give the role: users add NAME --role viewer|analyst|approver|admin.")
        password = None
        if not args.oidc:
            password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
        return accounts.add(ctx.lake, args.name, role=args.role, actor=ctx.actor, password=password, oidc=args.oidc).__dict__
    if args.action == "remove":
        accounts.remove(ctx.lake, args.name, actor=ctx.actor)
        return {"removed": args.name}
    if not args.role:
        raise InputError("Give the new role: users set-role NAME ROLE.")
    return accounts.set_role(ctx.lake, args.name, args.role, actor=ctx.actor).__dict__


def cmd_doctor(ctx: Context, args) -> dict:
    from core.operations import doctor

    if args.repair:
        return doctor.repair(ctx.lake, actor=ctx.actor, progress=ctx.progress)
    return doctor.examine(ctx.lake)


def cmd_audit(ctx: Context, args) -> dict:
    if (args.out and args.action != "anchor") or (args.anchor and args.action != "verify"):
        raise InputError("--out goes with `audit anchor`, --anchor FILE with `audit verify`.")
    if args.action == "anchor":
        mark = audit.anchor(ctx.lake)
        if args.out:
            from core import outputs

            written = outputs.write_output(args.out, (json.dumps(mark, indent=2) + "\n").encode("utf-8"), lake=ctx.lake)
            return {**mark, "out": str(written)}
        return mark
    if args.action == "verify":
        return audit.verify(ctx.lake, anchor=audit.read_anchor(args.anchor) if args.anchor else None)
    return {"entries": audit.entries(ctx.lake, limit=args.limit, action=args.only, obj=args.object)}


def register(sub) -> None:
    p = sub.add_parser("users", help="accounts: users [list] | users add NAME --role ROLE [--oidc] | users remove NAME | "
                                     "users set-role NAME ROLE (the password is read from standard input) | "
                                     "users grant|revoke NAME --signoff-role ROLE | users token NAME | users unlock NAME | "
                                     "users policy [--lock-after N] [--backoff-seconds S]")
    p.add_argument("action", nargs="?", choices=["list", "add", "remove", "set-role", "grant", "revoke", "token",
                                                 "unlock", "policy"])
    p.add_argument("--signoff-role", metavar="ROLE", help="grant/revoke: a sign-off role, e.g. data_science_lead")
    p.add_argument("--lock-after", type=int, metavar="N", help="policy: lock an account after N failed sign-ins")
    p.add_argument("--backoff-seconds", type=float, metavar="S",
                   help="policy: the wait after the first failed sign-in (doubling with each further one)")
    p.add_argument("name", nargs="?")
    p.add_argument("role_positional", nargs="?", metavar="ROLE")
    p.add_argument("--role", choices=list(permissions.ROLES))
    p.add_argument("--oidc", action="store_true", help="an account that signs in through the OIDC provider (no password)")
    p.set_defaults(handler=cmd_users)

    p = sub.add_parser("audit", help="the audit trail: audit verify [--anchor FILE] | audit list | audit anchor [--out FILE]")
    p.add_argument("action", choices=["verify", "list", "anchor"])
    p.add_argument("--anchor", metavar="FILE", help="verify: also check the chain still holds the entry this anchor names")
    p.add_argument("--out", metavar="FILE", help="anchor: write it to this new file (never overwritten) as well")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--only", metavar="ACTION", help="list: only this action (ingest, train, register, ...)")
    p.add_argument("--object", help="list: objects containing this text")
    p.set_defaults(handler=cmd_audit)

    p = sub.add_parser("doctor", help="find what crashed jobs left (untracked files, artifacts, spool, a half-built demo)")
    p.add_argument("--repair", action="store_true",
                   help="remove it (admin; never what a running process may own) and complete a half-built demo")
    p.set_defaults(handler=cmd_doctor)

"""What every command runs with: the lake, the acting user and where progress goes, plus the parser that turns
argparse's usage errors into the CLI's JSON errors."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from core.errors import AssayError, InputError
from core.governance import accounts
from core.lake import Lake, permissions


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage text and exit 2
        raise InputError(f"{message} (see `{self.prog} --help`)")


def print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Context:
    """One command's lake and acting user (the signed-in account, or the local administrator)."""
    lake: Lake
    actor: str
    progress: Callable[[float, str], None] = print_progress


def local_actor() -> str:
    """The local administrator ("local:OSUSER"), who acts when no account is named."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local"


def sign_in(lake: Lake, args) -> Optional[str]:
    """The account named by --as (or an API token), proven by its credential once accounts exist: a password on
    standard input (--password-stdin, or typed at a terminal), or a token (ASSAY_TOKEN, --token-stdin). Every
    refusal is audited; None means the local administrator."""
    name = args.as_user
    token = sys.stdin.readline().strip() if args.token_stdin else os.environ.get("ASSAY_TOKEN", "").strip()
    if args.password_stdin and not name:
        raise InputError("--password-stdin signs in as the account named by --as NAME.")
    if name:
        try:
            accounts.get(lake, name)
        except AssayError as unknown:
            permissions.record_denial(lake, name, "sign-in", "--as names no account", details={"credential": "none"})
            raise permissions.PermissionDenied(f"{unknown} `--as` names an account, proven by its password or token.") \
                from None
    if token:
        return accounts.authenticate_token(lake, token, name=name).name
    if not name:
        return None
    if args.password_stdin or (sys.stdin is not None and sys.stdin.isatty()):
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {name}: ")
        return accounts.authenticate(lake, name, password).name
    permissions.record_denial(lake, name, "sign-in", "--as without a credential", details={"credential": "none"})
    raise permissions.PermissionDenied(
        f"Acting as {name} needs its credential: the password on standard input (--password-stdin) or an API token "
        "(ASSAY_TOKEN or --token-stdin; an admin issues one with `python -m core users token NAME`).")

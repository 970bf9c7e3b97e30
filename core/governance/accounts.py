"""Local accounts: names, roles and bcrypt password hashes in the lake. Accounts signed in through
an OIDC provider (Streamlit's st.login) are added without a password (`sign_in = 'oidc'`); their
name is the e-mail address the provider vouches for.

Also kept per account: the sign-off roles an admin granted it (only approvers and admins hold
them), API tokens for the CLI (shown once, stored as SHA-256), and failed sign-ins: each failure
makes the next attempt wait longer (`sign_in_backoff_seconds`, doubling), and after
`sign_in_lock_after` failures in a row the account is locked until an admin unlocks it."""
from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Optional

import bcrypt

from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.lake import permissions
from core.lake.permissions import ROLES, PermissionDenied, is_local_admin, require

MIN_PASSWORD = 10


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    sign_in: str


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 120 or any(c in name for c in "/\\\"'`;\n\r\t ") \
            or is_local_admin(name):
        raise InputError(f"{name!r} cannot be an account name: use 1 to 120 characters without spaces, quotes, "
                         "slashes or semicolons, not starting with 'local'.")
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"Unknown role {role!r}; choose from {', '.join(ROLES)}.")
    return role


def add(lake: Lake, name: str, *, role: str, actor: str, password: Optional[str] = None, oidc: bool = False) -> Account:
    require(lake, actor, "users")
    _check_name(name)
    _check_role(role)
    if oidc == bool(password):
        raise InputError("A local account needs a password (read from standard input); an OIDC account (--oidc) has none.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError(f"Use a password of at least {MIN_PASSWORD} characters.")
    digest = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode() if password else None

    def work(cur) -> None:
        if cur.execute("SELECT count(*) FROM lake.assay.users WHERE name = ?", [name]).fetchall()[0][0]:
            raise InputError(f"There is already an account {name!r}; use `users set-role` to change its role.")
        cur.execute("INSERT INTO lake.assay.users VALUES (?, ?, ?, ?, ?, now())",
                    [name, role, digest, "oidc" if oidc else "password", actor])

    lake.write(work, actor=actor, action="users", message=f"users add {name} as {role}", tag=f"user:{name}", details={"role": role})
    return get(lake, name)


def get(lake: Lake, name: str) -> Account:
    found = lake.records("SELECT name, role, sign_in FROM lake.assay.users WHERE name = ?", [name], into=Account)
    if not found:
        raise NotFoundError(f"No account {name!r}. `python -m core users` lists them.")
    return found[0]


def list_accounts(lake: Lake) -> list[Account]:
    return lake.records("SELECT name, role, sign_in FROM lake.assay.users ORDER BY name", into=Account)


def remove(lake: Lake, name: str, *, actor: str) -> None:
    """Remove the account with its sign-off roles, API tokens and failed sign-ins (its sessions end at their
    next interaction: the app re-reads the account on every rerun)."""
    require(lake, actor, "users")
    get(lake, name)

    def work(cur) -> None:
        for table in ("users", "signoff_grants", "api_tokens", "sign_in_failures"):
            cur.execute(f"DELETE FROM lake.assay.{table} WHERE name = ?", [name])

    lake.write(work, actor=actor, action="users", message=f"users remove {name}", tag=f"user:{name}")


def set_role(lake: Lake, name: str, role: str, *, actor: str) -> Account:
    """Change the role; an account that is no longer an approver or admin loses its sign-off roles."""
    require(lake, actor, "users")
    _check_role(role)
    get(lake, name)
    dropped = [] if role in SIGNOFF_HOLDERS else signoff_roles(lake, name)

    def work(cur) -> None:
        cur.execute("UPDATE lake.assay.users SET role = ? WHERE name = ?", [role, name])
        if role not in SIGNOFF_HOLDERS:
            cur.execute("DELETE FROM lake.assay.signoff_grants WHERE name = ?", [name])

    lake.write(work, actor=actor, action="users", message=f"users set-role {name} {role}", tag=f"user:{name}",
               details={"role": role, **({"signoff_roles_revoked": dropped} if dropped else {})})
    return get(lake, name)


# Sign-off roles ----------------------------------------------------------------------------------------------

SIGNOFF_HOLDERS = ("approver", "admin")


signoff_roles = permissions.signoff_roles  # the roles granted to an account (empty for anyone else)


def all_signoff_roles(lake: Lake) -> dict[str, list[str]]:
    """Every account that holds sign-off roles, with them."""
    out: dict[str, list[str]] = {}
    for name, role in lake.query("SELECT name, role FROM lake.assay.signoff_grants ORDER BY name, role"):
        out.setdefault(name, []).append(role)
    return out


def signoff_holders(lake: Lake) -> list[dict]:
    """The accounts that may hold sign-off roles (approvers and admins), with the roles they hold."""
    held = all_signoff_roles(lake)
    return [{"account": a.name, "role": a.role, "signoff_roles": ", ".join(held.get(a.name, []))}
            for a in list_accounts(lake) if a.role in SIGNOFF_HOLDERS]


def grant_signoff_role(lake: Lake, name: str, role: str, *, actor: str) -> list[str]:
    """An admin grants a configured sign-off role (a key of the required approvals) to an approver or admin."""
    from core.governance import registry  # the required approvals are the registry's setting

    require(lake, actor, "users")
    account = get(lake, name)
    configured = registry.required_approvals(lake)
    if role not in configured:
        raise InputError(f"Unknown sign-off role {role!r}; the configured roles are {', '.join(configured)}.")
    if account.role not in SIGNOFF_HOLDERS:
        raise InputError(f"{name} is {'an' if account.role[0] in 'aeiou' else 'a'} {account.role}: only approvers and "
                         f"admins hold sign-off roles. Change the role first (`users set-role {name} approver`).")
    if role in signoff_roles(lake, name):
        raise InputError(f"{name} already holds the sign-off role {role}.")
    lake.write(lambda cur: cur.execute("INSERT INTO lake.assay.signoff_grants VALUES (?, ?, ?, now())",
                                       [name, role, actor]),
               actor=actor, action="users", message=f"users grant {name} {role}", tag=f"user:{name}", details={"signoff_role": role})
    return signoff_roles(lake, name)


def revoke_signoff_role(lake: Lake, name: str, role: str, *, actor: str) -> list[str]:
    require(lake, actor, "users")
    get(lake, name)
    if role not in signoff_roles(lake, name):
        raise InputError(f"{name} does not hold the sign-off role {role!r} (holds: "
                         f"{', '.join(signoff_roles(lake, name)) or 'none'}).")
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.signoff_grants WHERE name = ? AND role = ?", [name, role]),
               actor=actor, action="users", message=f"users revoke {name} {role}", tag=f"user:{name}", details={"signoff_role": role})
    return signoff_roles(lake, name)


# API tokens --------------------------------------------------------------------------------------------------

TOKEN_PREFIX = "assay_"


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()  # 256 random bits: a fast hash is enough


def issue_token(lake: Lake, name: str, *, actor: str) -> dict:
    """A new API token for the account, returned once; only its SHA-256 is kept."""
    require(lake, actor, "users")
    get(lake, name)
    token_id = uuid.uuid4().hex[:12]
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    lake.write(lambda cur: cur.execute("INSERT INTO lake.assay.api_tokens (token_id, name, token_sha256, created_by, "
                                       "created_at) VALUES (?, ?, ?, ?, now())",
                                       [token_id, name, _token_digest(token), actor]),
               actor=actor, action="users", message=f"users token {name}", tag=f"user:{name}", details={"token_id": token_id})
    return {"name": name, "token_id": token_id, "token": token,
            "note": "Shown once: keep it in a secret store; use it as ASSAY_TOKEN or with --token-stdin."}


def authenticate_token(lake: Lake, token: str, *, name: Optional[str] = None) -> Account:
    """The account an API token was issued to (and, with `name`, only if it is that account's);
    every failure is audited."""
    rows = lake.query("SELECT t.name, t.token_id FROM lake.assay.api_tokens t JOIN lake.assay.users u ON u.name = t.name "
                      "WHERE t.token_sha256 = ? AND t.role IS NULL",  # a role-limited token (scorer) only scores
                      [_token_digest((token or "").strip())])
    if rows and (name is None or rows[0][0] == name):
        return get(lake, rows[0][0])
    claimed = name or "(token)"
    reason = "Unknown or revoked API token." if not rows else f"The API token is not {name}'s."
    permissions.record_denial(lake, claimed, "sign-in", reason, details={"credential": "token"})
    raise PermissionDenied(f"{reason} Ask an admin for one: `python -m core users token NAME`.")


# Sign-in with a password, backing off and locking --------------------------------------------------------------

DEFAULT_LOCK_AFTER = 10
DEFAULT_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
_clock = time.time  # replaced in tests, which never wait


def sign_in_policy(lake: Lake) -> dict:
    from core.lake import settings

    raw = settings.get(lake, "sign_in_policy")
    stored = json.loads(raw) if raw else {}
    return {"lock_after": int(stored.get("lock_after", DEFAULT_LOCK_AFTER)),
            "backoff_seconds": float(stored.get("backoff_seconds", DEFAULT_BACKOFF_SECONDS))}


def set_sign_in_policy(lake: Lake, *, actor: str, lock_after: Optional[int] = None,
                       backoff_seconds: Optional[float] = None) -> dict:
    from core.lake import settings

    policy = sign_in_policy(lake)
    if lock_after is not None:
        if not isinstance(lock_after, int) or not 1 <= lock_after <= 1000:
            raise InputError(f"Lock after 1 to 1000 failed sign-ins, not {lock_after!r}.")
        policy["lock_after"] = lock_after
    if backoff_seconds is not None:
        if not 0 <= backoff_seconds <= MAX_BACKOFF_SECONDS:
            raise InputError(f"The first back-off is 0 to {MAX_BACKOFF_SECONDS:g} seconds, not {backoff_seconds!r}.")
        policy["backoff_seconds"] = float(backoff_seconds)
    settings.put(lake, "sign_in_policy", json.dumps(policy), actor=actor)
    return policy


def _failures(lake: Lake, name: str) -> tuple[int, float, bool]:
    rows = lake.query("SELECT failures, retry_after, locked FROM lake.assay.sign_in_failures WHERE name = ?", [name])
    return (int(rows[0][0]), float(rows[0][1]), bool(rows[0][2])) if rows else (0, 0.0, False)


def sign_in_state(lake: Lake, name: str) -> dict:
    failures, retry_after, locked = _failures(lake, name)
    return {"name": name, "failures": failures, "locked": locked,
            "wait_seconds": max(0.0, round(retry_after - _clock(), 1)) if not locked else None}


def authenticate(lake: Lake, name: str, password: str) -> Account:
    """The account, when the password matches; one message for every wrong name or password (no hint which part
    was wrong). Every failure is audited; a failure makes the next attempt wait (doubling), and the account
    locks after the policy's number of failures in a row."""
    rows = lake.query("SELECT name, role, sign_in, password_hash FROM lake.assay.users WHERE name = ?", [name])
    failures, retry_after, locked = _failures(lake, name) if rows else (0, 0.0, False)
    if locked:
        permissions.record_denial(lake, name, "sign-in", "the account is locked", details={"credential": "password"})
        raise PermissionDenied(f"The account {name} is locked after {failures} failed sign-ins. An admin unlocks it: "
                               f"`python -m core users unlock {name}`.")
    now = _clock()
    if now < retry_after:
        permissions.record_denial(lake, name, "sign-in", "too soon after a failed sign-in",
                                  details={"credential": "password"})
        raise PermissionDenied(f"Too many failed sign-ins: wait {retry_after - now:.0f} s before trying again.")
    if rows and rows[0][3] and bcrypt.checkpw((password or "").encode("utf-8"), rows[0][3].encode()):
        if failures:
            _clear_failures(lake, name, failures)
        return Account(*rows[0][:3])
    policy = sign_in_policy(lake)
    if not rows:
        permissions.record_denial(lake, name, "sign-in", "unknown account", details={"credential": "password"})
        raise PermissionDenied(f"Unknown account or wrong password. Wait {policy['backoff_seconds']:.0f} s before "
                               "the next try.")
    failures += 1
    lock = failures >= policy["lock_after"]
    wait = min(policy["backoff_seconds"] * 2 ** (failures - 1), MAX_BACKOFF_SECONDS)

    def count(cur) -> None:
        cur.execute("DELETE FROM lake.assay.sign_in_failures WHERE name = ?", [name])
        cur.execute("INSERT INTO lake.assay.sign_in_failures VALUES (?, ?, ?, ?, now())", [name, failures, now + wait, lock])

    permissions.record_denial(lake, name, "sign-in", "wrong password" + (", account locked" if lock else ""),
                              details={"credential": "password", "failures": failures, "locked": lock}, also=count)
    if lock:
        raise PermissionDenied(f"Unknown account or wrong password. The account is now locked after {failures} failed "
                               f"sign-ins; an admin unlocks it: `python -m core users unlock {name}`.")
    raise PermissionDenied(f"Unknown account or wrong password. Wait {wait:.0f} s before the next try.")


def _clear_failures(lake: Lake, name: str, failures: int) -> None:
    """A successful sign-in ends the run of failures (recorded, as every change to the lake is)."""
    from core.lake import audit, identity

    def work(cur) -> None:
        cur.execute("DELETE FROM lake.assay.sign_in_failures WHERE name = ?", [name])
        audit.append(cur, actor=name, action="sign-in", obj=f"user:{name}",
                     details={"cleared_failures": failures, **identity.context()})

    lake._write_with(lake.cursor, work, actor=name, message="sign-in after failures", tag=None)


def unlock(lake: Lake, name: str, *, actor: str) -> dict:
    """An admin clears an account's failed sign-ins (and its lock)."""
    require(lake, actor, "users")
    get(lake, name)
    failures, _, locked = _failures(lake, name)
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.sign_in_failures WHERE name = ?", [name]), actor=actor,
               action="users", message=f"users unlock {name}", tag=f"user:{name}", details={"failures": failures, "was_locked": locked})
    return sign_in_state(lake, name)


def single_user(lake: Lake) -> bool:
    return not permissions.accounts_exist(lake)

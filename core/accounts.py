"""Local accounts: names, roles and bcrypt password hashes in the lake. Accounts signed in through
an OIDC provider (Streamlit's st.login) are added without a password (`sign_in = 'oidc'`); their
name is the e-mail address the provider vouches for."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import bcrypt

from core.errors import InputError, NotFoundError
from core.lake import Lake
from core.permissions import ROLES, PermissionDenied, is_local_admin, require

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

    lake.write(work, actor=actor, message=f"users add {name} as {role}", tag=f"user:{name}", details={"role": role})
    return get(lake, name)


def get(lake: Lake, name: str) -> Account:
    rows = lake.query("SELECT name, role, sign_in FROM lake.assay.users WHERE name = ?", [name])
    if not rows:
        raise NotFoundError(f"No account {name!r}. `python -m core users` lists them.")
    return Account(*rows[0])


def list_accounts(lake: Lake) -> list[Account]:
    return [Account(*r) for r in lake.query("SELECT name, role, sign_in FROM lake.assay.users ORDER BY name")]


def remove(lake: Lake, name: str, *, actor: str) -> None:
    require(lake, actor, "users")
    get(lake, name)
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.users WHERE name = ?", [name]), actor=actor,
               message=f"users remove {name}", tag=f"user:{name}")


def set_role(lake: Lake, name: str, role: str, *, actor: str) -> Account:
    require(lake, actor, "users")
    _check_role(role)
    get(lake, name)
    lake.write(lambda cur: cur.execute("UPDATE lake.assay.users SET role = ? WHERE name = ?", [role, name]), actor=actor,
               message=f"users set-role {name} {role}", tag=f"user:{name}", details={"role": role})
    return get(lake, name)


def authenticate(lake: Lake, name: str, password: str) -> Account:
    """The account, when the password matches; one message for every failure (no hint which part was wrong)."""
    rows = lake.query("SELECT name, role, sign_in, password_hash FROM lake.assay.users WHERE name = ?", [name])
    if rows and rows[0][3] and bcrypt.checkpw(password.encode("utf-8"), rows[0][3].encode()):
        return Account(*rows[0][:3])
    raise PermissionDenied("Unknown account or wrong password.")


def single_user(lake: Lake) -> bool:
    return not lake.query("SELECT count(*) FROM lake.assay.users")[0][0]

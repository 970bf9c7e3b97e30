"""Bearer tokens for the real-time endpoint, issued to accounts or to services.

One model with the accounts' API tokens (`users token NAME`, table api_tokens): a token is shown once and
kept as its SHA-256. A token from `users token` has no role and acts as its account (CLI and endpoint,
when the account may score); a token from `tokens add NAME --role scorer` is limited to its role: a
scorer may call the endpoint and nothing else (the CLI refuses it). NAME is an account or a service
(any other name: a service has no account and no password). Admins issue, list and revoke tokens.
"""
from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from core.errors import InputError, NotFoundError
from core.governance import accounts
from core.lake import Lake, permissions
from core.lake.permissions import require

ROLES = ("scorer",)  # what a role-limited token may do: "scorer" calls the endpoint


@dataclass(frozen=True)
class Credentials:
    """What the endpoint checks a bearer token against, loaded off the request path: whether a token is
    required (the lake has accounts or tokens) and the SHA-256 of every token that may score, with who holds it."""
    required: bool
    holders: dict  # token SHA-256 -> "NAME (token TOKEN_ID)"


def add(lake: Lake, name: str, *, role: str, actor: str) -> dict:
    """A new role-limited token for an account or a service, returned once; only its SHA-256 is kept."""
    require(lake, actor, "users")
    accounts._check_name(name)
    if role not in ROLES:
        raise InputError(f"Unknown token role {role!r}; choose from {', '.join(ROLES)}.")
    kind = "account" if lake.query("SELECT count(*) FROM lake.assay.users WHERE name = ?", [name])[0][0] else "service"
    token_id = uuid.uuid4().hex[:12]
    token = f"{accounts.TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    lake.write(lambda cur: cur.execute(
        "INSERT INTO lake.assay.api_tokens (token_id, name, token_sha256, created_by, created_at, role) "
        "VALUES (?, ?, ?, ?, now(), ?)", [token_id, name, accounts._token_digest(token), actor, role]),
        actor=actor, action="users", message=f"tokens add {name} --role {role}", tag=f"token:{token_id}",
        details={"name": name, "kind": kind, "role": role})
    return {"token_id": token_id, "name": name, "kind": kind, "role": role, "token": token,
            "note": "Shown once: keep it in a secret store; send it as 'Authorization: Bearer TOKEN'."}


def list_tokens(lake: Lake) -> list[dict]:
    """Every token (never the token or its hash): id, holder, account or service, role (None: acts as the account)."""
    rows = lake.query("SELECT t.token_id, t.name, u.name IS NOT NULL, t.role, t.created_by, t.created_at "
                      "FROM lake.assay.api_tokens t LEFT JOIN lake.assay.users u ON u.name = t.name "
                      "ORDER BY t.created_at, t.token_id")
    return [{"token_id": r[0], "name": r[1], "kind": "account" if r[2] else "service", "role": r[3] or "account",
             "created_by": r[4], "created_at": r[5]} for r in rows]


def revoke(lake: Lake, token_id: str, *, actor: str) -> dict:
    """Remove a token (an endpoint stops accepting it at its next refresh, within seconds)."""
    require(lake, actor, "users")
    rows = lake.query("SELECT name, role FROM lake.assay.api_tokens WHERE token_id = ?", [token_id])
    if not rows:
        raise NotFoundError(f"No token {token_id!r}. `python -m core tokens list` lists them.")
    lake.write(lambda cur: cur.execute("DELETE FROM lake.assay.api_tokens WHERE token_id = ?", [token_id]),
               actor=actor, action="users", message=f"tokens revoke {token_id}", tag=f"token:{token_id}",
               details={"name": rows[0][0], "role": rows[0][1] or "account"})
    return {"revoked": token_id, "name": rows[0][0]}


def scoring_credentials(lake: Lake) -> Credentials:
    """The tokens that may call the endpoint: scorer tokens, and account tokens of accounts whose role may score."""
    rows = lake.query("SELECT t.token_sha256, t.name, t.token_id, t.role, u.role FROM lake.assay.api_tokens t "
                      "LEFT JOIN lake.assay.users u ON u.name = t.name")
    holders = {digest: f"{name} (token {token_id})" for digest, name, token_id, role, account_role in rows
               if role == "scorer" or (role is None and permissions.allowed(account_role, "score"))}
    return Credentials(required=bool(rows) or permissions.accounts_exist(lake), holders=holders)


def digest(token: str) -> str:
    return accounts._token_digest(token)

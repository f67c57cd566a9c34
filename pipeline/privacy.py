"""Pseudonymous customer ids: with `privacy.hash_customer_ids`, ingest replaces every
customer_id by a salted hash, so no processed file or report holds the bank's own id.

The salt comes only from the environment (CRM_ID_SALT), never from a file in the repo
or an output. The same salt gives the same pseudonym in every table and every period,
so joins and month-over-month comparisons still work; the bank, holding the salt, can
hash its own ids to find a customer on a watchlist."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from pipeline.errors import ConfigError

SALT_VARIABLE = "CRM_ID_SALT"
MIN_SALT_LENGTH = 16
HASH_CHARS = 20  # 80 bits of sha256: no collision expected below ~10^11 customers


def id_salt(cfg: dict[str, Any], env: Mapping[str, str] | None = None) -> str | None:
    """The salt when hashing is on (None when off); a clear error when it is missing."""
    if not cfg["privacy"]["hash_customer_ids"]:
        return None
    salt = (os.environ if env is None else env).get(SALT_VARIABLE, "")
    if len(salt) < MIN_SALT_LENGTH:
        raise ConfigError(
            f"privacy.hash_customer_ids: needs a secret salt of at least {MIN_SALT_LENGTH} "
            f"characters in the environment variable {SALT_VARIABLE} (found "
            f"{'none' if not salt else f'{len(salt)} characters'})"
        )
    return salt


def hash_id(customer_id: str, salt: str) -> str:
    """The pseudonym of one id: 'h' + the first HASH_CHARS hex digits of sha256(salt+id)."""
    return "h" + hashlib.sha256((salt + customer_id).encode("utf-8")).hexdigest()[:HASH_CHARS]


def hash_id_sql(expr: str, salt: str) -> str:
    """The same pseudonym as hash_id, as a DuckDB SQL expression over `expr`."""
    literal = "'" + salt.replace("'", "''") + "'"
    return f"('h' || left(sha256({literal} || {expr}), {HASH_CHARS}))"


def salt_fingerprint(salt: str | None) -> str | None:
    """Identifies the salt in a run's fingerprint without revealing it."""
    if salt is None:
        return None
    return hashlib.sha256(b"crm-id-salt\0" + salt.encode("utf-8")).hexdigest()

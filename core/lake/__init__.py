"""The lake and its access control.

`Lake` (connections, reads, audited writes), and the modules that guard it: `audit` (the hash-chained
trail), `permissions` (who may do which action), `identity` (who is acting, over which channel),
`migrations` (the catalog's schema), `settings` (small key/value configuration) and `scratch`
(temporary files owned by one process)."""
from core.lake._lake import Lake, is_retryable, records, sql_literal

__all__ = ["Lake", "is_retryable", "records", "sql_literal",
           "audit", "identity", "migrations", "permissions", "scratch", "settings"]

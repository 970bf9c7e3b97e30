"""Numbered, append-only steps that create the lake's internal tables.

Each step runs once, in its own transaction, and is recorded in `lake.assay.migrations`.
Never edit a step that has landed: add a new one.
"""
from __future__ import annotations

from typing import Sequence

import duckdb

# A run's held-out rows: the table is made here (step 4); core.training._held_out is the one module that writes and
# reads it. The name is frozen with step 4 (a renamed table would be a new step).
HELD_OUT_ROWS = "lake.assay.run_test_rows"

STEPS: Sequence[tuple[int, str, Sequence[str]]] = (
    (1, "use cases, dataset versions, cohorts, settings", (
        """CREATE TABLE lake.assay.usecases (
            name VARCHAR, objective VARCHAR, owner VARCHAR, stakeholders VARCHAR,
            data_sources VARCHAR, success_metrics VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """INSERT INTO lake.assay.usecases VALUES ('default', 'Everything not filed under another use case',
            'local', '[]', '[]', '[]', 'assay', now())""",
        """CREATE TABLE lake.assay.dataset_versions (
            name VARCHAR, version INTEGER, usecase VARCHAR, source VARCHAR, source_kind VARCHAR,
            rows BIGINT, n_columns INTEGER, schema VARCHAR, digest VARCHAR, description VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.cohorts (
            name VARCHAR, usecase VARCHAR, dataset VARCHAR, conditions VARCHAR, description VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        "CREATE TABLE lake.assay.settings (key VARCHAR, value VARCHAR, updated_at TIMESTAMPTZ)",
        "CREATE SCHEMA IF NOT EXISTS lake.datasets",
    )),
    (2, "feature sets", (
        """CREATE TABLE lake.assay.feature_sets (
            name VARCHAR, version INTEGER, usecase VARCHAR, spec VARCHAR, description VARCHAR, owner VARCHAR,
            lineage VARCHAR, entity VARCHAR, timestamp_column VARCHAR, label VARCHAR, rows BIGINT,
            schema VARCHAR, statistics VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        "CREATE SCHEMA IF NOT EXISTS lake.features",
    )),
    (3, "training runs and their curves", (
        """CREATE TABLE lake.assay.runs (
            run_id VARCHAR, batch_id VARCHAR, usecase VARCHAR, input_kind VARCHAR, input_name VARCHAR,
            input_version INTEGER, input_snapshot BIGINT, target VARCHAR, task VARCHAR, positive VARCHAR,
            classes VARCHAR, split VARCHAR, algorithm VARCHAR, params VARCHAR, features VARCHAR, sensitive VARCHAR,
            excluded VARCHAR, warnings VARCHAR, metrics VARCHAR, train_rows BIGINT, test_rows BIGINT,
            duration_seconds DOUBLE, code_version VARCHAR, artifact VARCHAR, artifact_sha256 VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.run_curves (
            run_id VARCHAR, curve VARCHAR, label VARCHAR, x DOUBLE, y DOUBLE, threshold DOUBLE)""",
    )),
    (4, "held-out rows of each run, and reviews", (
        f"CREATE TABLE {HELD_OUT_ROWS} (run_id VARCHAR, row_id BIGINT)",
        """CREATE TABLE lake.assay.reviews (
            review_id VARCHAR, usecase VARCHAR, run_id VARCHAR, dataset_kind VARCHAR, dataset_name VARCHAR,
            dataset_version INTEGER, dataset_snapshot BIGINT, scope VARCHAR, rows BIGINT, sensitive VARCHAR,
            components VARCHAR, config VARCHAR, timings VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        "CREATE TABLE lake.assay.review_results (review_id VARCHAR, component VARCHAR, result VARCHAR)",
        "CREATE SCHEMA IF NOT EXISTS lake.reviews",
    )),
    (5, "model registry, sign-offs and the hash-chained audit trail", (
        """CREATE TABLE lake.assay.models (
            name VARCHAR, usecase VARCHAR, description VARCHAR, owners VARCHAR, tags VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.model_versions (
            name VARCHAR, version INTEGER, run_id VARCHAR, review_id VARCHAR, task VARCHAR, target VARCHAR,
            input VARCHAR, input_snapshot BIGINT, signature VARCHAR, input_example VARCHAR, output VARCHAR,
            metrics VARCHAR, artifact VARCHAR, artifact_sha256 VARCHAR, code_version VARCHAR, gate VARCHAR,
            card VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        "CREATE TABLE lake.assay.model_aliases (name VARCHAR, alias VARCHAR, version INTEGER, set_by VARCHAR, "
        "set_at TIMESTAMPTZ)",
        """CREATE TABLE lake.assay.signoffs (
            name VARCHAR, version INTEGER, reviewer VARCHAR, role VARCHAR, decision VARCHAR, comment VARCHAR,
            artifact_sha256 VARCHAR, signed_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.audit (
            seq BIGINT, logged_at TIMESTAMP, actor VARCHAR, action VARCHAR, object VARCHAR, details VARCHAR,
            prev_hash VARCHAR, hash VARCHAR)""",
        "CREATE TABLE lake.assay.audit_head (seq BIGINT, hash VARCHAR)",
        "INSERT INTO lake.assay.audit_head VALUES (0, '')",
    )),
    (6, "accounts and roles", (
        """CREATE TABLE lake.assay.users (
            name VARCHAR, role VARCHAR, password_hash VARCHAR, sign_in VARCHAR, created_by VARCHAR,
            created_at TIMESTAMPTZ)""",
    )),
    (7, "scoring jobs and drift reports", (
        """CREATE TABLE lake.assay.jobs (
            job_id VARCHAR, usecase VARCHAR, model VARCHAR, model_version INTEGER, input VARCHAR, output VARCHAR,
            engine VARCHAR, status VARCHAR, rows BIGINT, scored BIGINT, rejected BIGINT, reasons VARCHAR,
            seconds DOUBLE, rows_per_second DOUBLE, error VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.drift_reports (
            report_id VARCHAR, usecase VARCHAR, model VARCHAR, model_version INTEGER, reference VARCHAR, current VARCHAR,
            dataset_drift BOOLEAN, drift_share DOUBLE, prediction_drift DOUBLE, performance VARCHAR, result VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
    )),
    (8, "review findings, their comments and action items", (
        """CREATE TABLE lake.assay.findings (
            finding_id VARCHAR, usecase VARCHAR, review_id VARCHAR, run_id VARCHAR, title VARCHAR, severity VARCHAR,
            component VARCHAR, settings VARCHAR, decision VARCHAR, decision_reason VARCHAR, decided_by VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        "CREATE TABLE lake.assay.finding_comments (finding_id VARCHAR, author VARCHAR, text VARCHAR, commented_at TIMESTAMPTZ)",
        """CREATE TABLE lake.assay.finding_actions (
            action_id VARCHAR, finding_id VARCHAR, text VARCHAR, owner VARCHAR, due DATE, status VARCHAR,
            closed_by VARCHAR, close_reason VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
    )),
    (9, "decision thresholds of registered model versions", (
        """CREATE TABLE lake.assay.model_thresholds (
            name VARCHAR, version INTEGER, threshold DOUBLE, previous DOUBLE, reason VARCHAR, set_by VARCHAR,
            set_at TIMESTAMPTZ)""",
    )),
    (11, "sign-off roles granted to accounts, API tokens, failed sign-ins", (
        "CREATE TABLE lake.assay.signoff_grants (name VARCHAR, role VARCHAR, granted_by VARCHAR, granted_at TIMESTAMPTZ)",
        """CREATE TABLE lake.assay.api_tokens (
            token_id VARCHAR, name VARCHAR, token_sha256 VARCHAR, created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.sign_in_failures (
            name VARCHAR, failures INTEGER, retry_after DOUBLE, locked BOOLEAN, last_failed_at TIMESTAMPTZ)""",
    )),
    (12, "monitoring reports, their chunks, alerts and webhook deliveries", (
        """CREATE TABLE lake.assay.monitoring_reports (
            report_id VARCHAR, usecase VARCHAR, model VARCHAR, model_version INTEGER, current VARCHAR, method VARCHAR,
            chunking VARCHAR, metrics VARCHAR, reference VARCHAR, chunks INTEGER, alerts INTEGER, result VARCHAR,
            created_by VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.monitoring_chunks (
            report_id VARCHAR, period VARCHAR, chunk INTEGER, chunk_start VARCHAR, chunk_end VARCHAR, rows BIGINT,
            labelled BIGINT, estimated VARCHAR, realized VARCHAR, drift VARCHAR, distributions VARCHAR)""",
        """CREATE TABLE lake.assay.monitoring_alerts (
            alert_id VARCHAR, report_id VARCHAR, usecase VARCHAR, model VARCHAR, model_version INTEGER, chunk INTEGER,
            chunk_start VARCHAR, kind VARCHAR, metric VARCHAR, value DOUBLE, lower DOUBLE, upper DOUBLE,
            message VARCHAR, created_at TIMESTAMPTZ)""",
        """CREATE TABLE lake.assay.monitoring_webhooks (
            report_id VARCHAR, url VARCHAR, ok BOOLEAN, status INTEGER, error VARCHAR, sent_at TIMESTAMPTZ)""",
    )),
    (13, "API tokens limited to a role (a service's or account's scorer token for the endpoint)", (
        "ALTER TABLE lake.assay.api_tokens ADD COLUMN role VARCHAR",
    )),
)


def apply(lake, con: duckdb.DuckDBPyConnection) -> None:
    """Bring the lake's internal tables up to the newest step (safe when two processes start at once)."""
    def bootstrap(cur: duckdb.DuckDBPyConnection) -> None:
        cur.execute("CREATE SCHEMA IF NOT EXISTS lake.assay")
        cur.execute("CREATE TABLE IF NOT EXISTS lake.assay.migrations "
                    "(version INTEGER, description VARCHAR, applied_at TIMESTAMPTZ)")

    if not _has_migrations_table(con):
        lake._write_with(con.cursor, bootstrap, actor="assay", message="create migrations table", tag=None)
    for version, description, statements in STEPS:
        def step(cur: duckdb.DuckDBPyConnection, version=version, description=description, statements=statements) -> bool:
            done = cur.execute("SELECT count(*) FROM lake.assay.migrations WHERE version = ?", [version]).fetchall()[0][0]
            if done:
                return False
            for sql in statements:
                cur.execute(sql)
            cur.execute("INSERT INTO lake.assay.migrations VALUES (?, ?, now())", [version, description])
            return True

        if not _is_applied(con, version):
            lake._write_with(con.cursor, step, actor="assay", message=f"migration {version}: {description}", tag=None)


def _has_migrations_table(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'lake' AND schema_name = 'assay' "
        "AND table_name = 'migrations'").fetchall()[0][0])


def _is_applied(con: duckdb.DuckDBPyConnection, version: int) -> bool:
    return bool(con.execute("SELECT count(*) FROM lake.assay.migrations WHERE version = ?", [version]).fetchall()[0][0])

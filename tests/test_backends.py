"""The lake on real infrastructure: a Postgres catalog and an S3 data path (a local moto S3 server).

The Postgres test runs when ASSAY_TEST_POSTGRES holds a libpq connection string of a server
where the test may create databases (.ci/run starts one); it is skipped elsewhere.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from core.data import datasets, demo
from core.lake import Lake

from support import ROOT, write_csv

POSTGRES = os.environ.get("ASSAY_TEST_POSTGRES")


@pytest.fixture
def postgres_catalog(monkeypatch):
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("ASSAY_TEST_POSTGRES is not set: .ci/run starts a Postgres server for this test")
        pytest.skip("no Postgres server (set ASSAY_TEST_POSTGRES='host=... port=... user=...')")
    database = f"assay_test_{uuid.uuid4().hex[:12]}"
    options = dict(part.split("=", 1) for part in POSTGRES.split())
    psql = ["psql", "-h", options.get("host", "127.0.0.1"), "-p", options.get("port", "5432"),
            "-U", options.get("user", "postgres"), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"]
    subprocess.run(psql + [f"CREATE DATABASE {database}"], check=True, capture_output=True)
    monkeypatch.setenv("ASSAY_CATALOG", f"postgres:{POSTGRES} dbname={database}")
    yield database
    subprocess.run(psql + [f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


def test_postgres_catalog_versions_time_travel_and_concurrent_writers(postgres_catalog, tmp_path):
    lake = Lake.open(tmp_path / "lake")
    assert lake.config.catalog_kind == "postgres"
    assert not (tmp_path / "lake" / "catalog.sqlite").exists()
    demo.build(lake, rows=2_000)
    csv = write_csv(tmp_path / "rows.csv", "a,b\n" + "".join(f"{i},{i}\n" for i in range(500)))
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(ROOT)!r})
        from core.data import datasets
        from core.lake import Lake
        lake = Lake.open({str(tmp_path / 'lake')!r})
        for _ in range(5):
            datasets.ingest_path(lake, {str(csv)!r}, name="shared", actor=sys.argv[1])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, who], stderr=subprocess.PIPE, text=True,
                              env={**os.environ}) for who in ("a", "b")]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert [v.version for v in datasets.versions(lake, "shared")] == list(range(10, 0, -1))
    first = datasets.get(lake, "applications@1")
    assert lake.query(f"SELECT count(*) FROM {first.table_sql}")[0][0] == 2_000
    lake.close()


def test_s3_data_path(tmp_path, monkeypatch):
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for key, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                           "AWS_ENDPOINT_URL": endpoint, "ASSAY_DATA_PATH": "s3://assay-test/lake/"}.items():
            monkeypatch.setenv(key, value)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="assay-test")
        lake = Lake.open(tmp_path / "lake")
        assert lake.config.uses_s3
        v1 = datasets.ingest_path(lake, write_csv(tmp_path / "a.csv", "x,y\n1,a\n2,b\n"), name="remote", actor="t")
        v2 = datasets.ingest_path(lake, write_csv(tmp_path / "b.csv", "x,y\n3,c\n"), name="remote", actor="t")
        assert datasets.read_frame(lake, v1)["x"].tolist() == [1, 2]
        assert datasets.read_frame(lake, v2)["x"].tolist() == [3]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="assay-test")["Contents"]]
        assert any(k.startswith("lake/datasets/remote/") and k.endswith(".parquet") for k in keys)
        assert not (tmp_path / "lake" / "files").exists()  # nothing written locally but the catalog
        lake.close()
    finally:
        server.stop()

"""`make lake-demo`: the demo materialised into a DuckLake with a PostgreSQL catalog, checked table by
table against the same demo in a plain DuckDB file.

    python -m cryptofactor_assets.ops.lake_demo --start 2023-01-01 --end 2024-12-31 [--folder data/lake-demo]
    python -m cryptofactor_assets.ops.lake_demo --stop     # stop the demo's PostgreSQL server

1. starts (initialising once) a local PostgreSQL server in ``<folder>/pg`` and creates the catalog
   database ``cryptofactor_lake`` afresh (``--keep``: materialise over the existing lake) (``local_postgres``; the password stays in ``<folder>/pg/password``
   and reaches clients as ``PGPASSWORD`` only);
2. runs ``cryptofactor materialize`` into ``ducklake:postgres:<dsn>`` with the Parquet files under
   ``<folder>/parquet`` and its own Dagster instance (``<folder>/dagster_home``);
3. runs the same ``cryptofactor materialize`` into the DuckDB file ``<folder>/plain.duckdb`` (same
   interpreter, so the same DuckDB);
4. ``cryptofactor checksums`` of the lake against the file: exit 1 when any table differs.

The server is left running, so ``cryptofactor sql`` / ``tables`` / ``sql --at-snapshot N`` work on the
lake afterwards with the environment this prints (``--stop`` stops it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cryptofactor_assets.ops.local_postgres import (
    PostgresUnavailable,
    create_database,
    start_server,
    stop_server,
)

CATALOG_DB = "cryptofactor_lake"


def _say(message: str) -> None:
    print(f"[lake-demo] {message}", flush=True)


def _materialize(env: dict[str, str], start: str, end: str) -> float:
    t0 = time.perf_counter()
    cli = shutil.which("cryptofactor", path=os.path.dirname(sys.executable)) or "cryptofactor"
    subprocess.run([cli, "materialize", "--start", start, "--end", end], env=env, check=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lake_demo", description=__doc__.split("\n")[0])
    p.add_argument("--start", default="2023-01-01")
    p.add_argument("--end", default="2024-12-31")
    p.add_argument("--folder", default="data/lake-demo")
    p.add_argument("--stop", action="store_true", help="stop the demo's PostgreSQL server and exit")
    p.add_argument("--skip-plain", action="store_true", help="do not rebuild the plain-file demo to compare with")
    p.add_argument("--keep", action="store_true",
                   help="materialise over the existing lake (default: a fresh catalog database and Parquet folder, "
                        "as the plain file is rebuilt fresh)")
    args = p.parse_args(argv)
    folder = Path(args.folder).resolve()
    if args.stop:
        _say("server stopped" if stop_server(folder / "pg") else "no server running")
        return 0
    try:
        server = start_server(folder / "pg")
        create_database(server, CATALOG_DB, fresh=not args.keep)
    except PostgresUnavailable as exc:
        _say(f"cannot start PostgreSQL: {exc}")
        return 2
    warehouse = f"ducklake:postgres:{server.dsn(CATALOG_DB)}"
    parquet = folder / "parquet"
    if not args.keep and parquet.exists():
        shutil.rmtree(parquet)
    home = folder / "dagster_home"
    for instance_home in (home, folder / "dagster_home_plain"):
        instance_home.mkdir(parents=True, exist_ok=True)
        template = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"
        if template.exists() and not (instance_home / "dagster.yaml").exists():
            shutil.copy(template, instance_home / "dagster.yaml")
    base = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTOFACTOR_WAREHOUSE")}
    base.update({"CRYPTOFACTOR_PARTITIONS_START": args.start, "CRYPTOFACTOR_PARTITIONS_END": args.end})
    lake_env = {**base, **server.env(), "CRYPTOFACTOR_WAREHOUSE": warehouse,
                "CRYPTOFACTOR_LAKE_DATA_PATH": str(parquet), "DAGSTER_HOME": str(home),
                "CRYPTOFACTOR_DUCKDB": str(folder / "unused.duckdb")}
    plain_file = folder / "plain.duckdb"
    plain_env = {**base, "CRYPTOFACTOR_DUCKDB": str(plain_file), "DAGSTER_HOME": str(folder / "dagster_home_plain")}
    _say(f"PostgreSQL catalog on 127.0.0.1:{server.port} (data in {server.folder}); Parquet under {parquet}")
    took = _materialize(lake_env, args.start, args.end)
    _say(f"DuckLake demo materialised in {took:.1f} s")
    if not args.skip_plain:
        for leftover in (plain_file, Path(f"{plain_file}.wal")):
            leftover.unlink(missing_ok=True)
        took = _materialize(plain_env, args.start, args.end)
        _say(f"plain-file demo materialised in {took:.1f} s")
    cli = shutil.which("cryptofactor", path=os.path.dirname(sys.executable)) or "cryptofactor"
    code = subprocess.run([cli, "checksums", "--warehouse", warehouse, "--against", f"duckdb:{plain_file}"],
                          env=lake_env).returncode
    _say("tables equal the plain-file demo's" if code == 0 else "tables DIFFER from the plain-file demo's")
    _say("the server keeps running; to query the lake:")
    print(f"  export CRYPTOFACTOR_WAREHOUSE='{warehouse}' CRYPTOFACTOR_LAKE_DATA_PATH='{parquet}' "
          f"PGPASSWORD=\"$(cat {server.folder / 'password'})\"")
    print("  cryptofactor tables; cryptofactor sql \"SELECT * FROM lake.snapshots() ORDER BY snapshot_id DESC LIMIT 5\"")
    print(f"  stop it: {sys.executable} -m cryptofactor_assets.ops.lake_demo --folder {args.folder} --stop")
    return code


if __name__ == "__main__":
    sys.exit(main())

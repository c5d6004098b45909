"""Roster import benchmark: wall time and peak memory for files of N rows, on SQLite and PostgreSQL.

    .venv/bin/python bench/import_bench.py                      # 5,000 and 50,000 rows, xlsx and csv, SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/guanjia_bench .venv/bin/python bench/import_bench.py
    .venv/bin/python bench/import_bench.py --rows 5000 --formats csv

Each run is a fresh subprocess on a fresh database (on PostgreSQL the database named in BENCH_DATABASE_URL is
dropped and re-created, and the app connects as a non-owner role so row-level security applies, as in
production). A run measures the phases the app goes through, each on its own:

  upload    store the file, check type/size/rows/headings (what the web request does)
  validate  the validation job: every row checked and classified, nothing written
  commit    the commit job: every row re-checked and written in one transaction
  again     validation of the same file once more (every row unchanged: a re-import)

Memory, per phase, two ways: the rise of the Python heap's peak (tracemalloc, in a second run of the same
phases so its overhead does not touch the times) and the rise of the process's peak RSS (VmHWM, reset before
each phase) over its RSS when the phase starts. Neither counts the app's own footprint; the RSS figure can
read low for a later phase that reuses memory an earlier one freed. The xlsx files are written the way
Excel and WPS write them (text in a shared-string table, numbers as numbers, a <dimension>); openpyxl's own
files keep text inline and would hide the cost of the shared-string table, which openpyxl loads whole.

The plan limit (10,000 households at most) and the upload limits are raised for the run.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("小区", "楼栋", "单元", "房号", "建筑面积(m²)", "入住状态", "业主姓名", "业主手机")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
OCCUPANCY = ("已入住", "已入住", "已入住", "空置", "未交付")


def rows(n: int):
    """A realistic roster: 6 communities, 12-storey buildings of 4 units × 2 homes per floor."""
    for i in range(n):
        community, rest = divmod(i, max(n // 6, 1))
        building, rest = divmod(rest, 96)
        unit, rest = divmod(rest, 24)
        floor, home = divmod(rest, 2)
        yield [f"第{community + 1}小区", f"{building + 1}号楼", str(unit + 1), f"{floor + 1}{home + 1:02d}",
               f"{80 + (i * 7) % 4000 / 100:.2f}", OCCUPANCY[i % 5], f"{SURNAMES[i % 20]}{i % 997}",
               f"139{i:08d}"]


def write_file(path: Path, n: int) -> None:
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(COLUMNS)
            writer.writerows(rows(n))
        return
    _write_excel_like_xlsx(path, n)


def _write_excel_like_xlsx(path: Path, n: int) -> None:
    """An .xlsx as Excel and WPS save one: text in a shared-string table, numbers as numbers, a <dimension>.

    (openpyxl itself writes inline strings, which would spare the reader the shared-string table that
    real uploads have and that openpyxl's read-only mode loads whole.)"""
    import zipfile
    from xml.sax.saxutils import escape

    from openpyxl.utils import get_column_letter

    strings: dict[str, int] = {}

    def cell(ref: str, value) -> str:
        if isinstance(value, float):
            return f'<c r="{ref}"><v>{value!r}</v></c>'
        index = strings.setdefault(value, len(strings))
        return f'<c r="{ref}" t="s"><v>{index}</v></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
                        b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            sheet.write(f'<dimension ref="A1:H{n + 1}"/><sheetData>'.encode())
            for number, values in enumerate([list(COLUMNS), *rows(n)], start=1):
                if number > 1:
                    values[4] = float(values[4])  # the floor area is a number in Excel
                cells = "".join(cell(f"{get_column_letter(i + 1)}{number}", v) for i, v in enumerate(values))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        shared = "".join(f"<si><t>{escape(text)}</t></si>" for text in strings)
        archive.writestr("xl/sharedStrings.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.openxmlformats.org/'
            f'spreadsheetml/2006/main" count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>'))
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
            'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.'
            'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            '</Types>'))
        archive.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>'))
        archive.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships"><sheets><sheet name="住户" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'sharedStrings" Target="sharedStrings.xml"/></Relationships>'))


# --- memory -------------------------------------------------------------------------------------------------


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class Phase:
    """Time and peak RSS rise of one phase; with ``trace``, the peak rise of the Python heap instead."""

    def __init__(self, results: dict, name: str, trace: bool):
        self.results, self.name, self.trace = results, name, trace

    def __enter__(self):
        gc.collect()  # what earlier phases left for the collector is not this phase's
        if self.trace:
            tracemalloc.reset_peak()
            self.heap = tracemalloc.get_traced_memory()[0]
        self.can_reset = _reset_peak()
        self.rss = _status_kb("VmRSS") or 0
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        seconds = time.perf_counter() - self.started
        if self.trace:
            self.results[self.name] = {"heap_mb": round((tracemalloc.get_traced_memory()[1] - self.heap) / 1048576, 1)}
            return False
        peak = _status_kb("VmHWM") if self.can_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.results[self.name] = {"seconds": round(seconds, 2), "rss_mb": round(max(peak - self.rss, 0) / 1024, 1)}
        return False


# --- one run, in a child process ------------------------------------------------------------------------------


def _postgres(url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from saas.config import normalise_db_url

    base = make_url(normalise_db_url(url))
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{base.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{base.database}"'))
        if not conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = 'guanjia_app_bench'")).first():
            conn.execute(text("CREATE ROLE guanjia_app_bench LOGIN NOSUPERUSER NOBYPASSRLS"))
    admin.dispose()
    owner = base.render_as_string(hide_password=False)
    app_url = base.set(username="guanjia_app_bench", password=None).render_as_string(hide_password=False)
    return owner, app_url


def bench_app(database: str, workdir: Path, config: dict):
    """A migrated app for one bench run (every bench uses this): SQLite in ``workdir``, or a fresh PostgreSQL
    database ("postgresql://…") that the app reaches as a non-owner role, so row-level security applies.
    ``config`` adds to (or overrides) the database, Redis-less and upload settings. app.config["BENCH_OWNER_URL"]
    is the owner's URL, for ANALYZE and the like."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import create_engine

    if database == "sqlite":
        owner = app_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        owner, app_url = _postgres(database)

    from saas import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": app_url, "MIGRATION_DATABASE_URL": owner, "REDIS_URL": "",
                      "UPLOAD_FOLDER": str(workdir / "uploads"), **config})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if database != "sqlite":
            from saas.cli import grant_app_role

            engine = create_engine(owner)
            with engine.begin() as conn:
                grant_app_role(conn, "guanjia_app_bench")
            engine.dispose()
    app.config["BENCH_OWNER_URL"] = owner
    return app


def child(database: str, file: Path, workdir: Path, trace: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    if trace:
        tracemalloc.start()
    import saas.subscriptions.plans as plans

    plans.TRIAL_MAX_HOUSEHOLDS = 10**9  # the largest plan holds 10,000; the bench goes further
    app = bench_app(database, workdir, {"TESTING": True, "IMPORT_MAX_BYTES": 200 * 1024 * 1024,
                                        "IMPORT_MAX_ROWS": 1_000_000, "BABEL_DEFAULT_LOCALE": "en"})

    from werkzeug.datastructures import FileStorage

    import saas.jobs
    from saas.extensions import db
    from saas.models import Company, Membership, Role, User
    from saas.tenancy import company_context
    from tenants.imports import services

    results: dict = {}
    with app.app_context():
        company = Company(slug="bench", name="基准物业", plan_code="bench")
        user = User(name="基准", phone="13800000000", password_hash="x")
        db.session.add_all([company, user])
        db.session.commit()
        with company_context(company.id):
            db.session.add(Membership(user_id=user.id, role=Role.ADMIN))
            db.session.commit()
            saas.jobs.enqueue = lambda *a, **k: None  # the phases below run the jobs one by one
            services.template_file("xlsx")  # import openpyxl before measuring: a running app has it loaded

            def upload():
                with file.open("rb") as f:
                    return services.create_import(FileStorage(f, filename=file.name), actor=user).id

            with Phase(results, "upload", trace):
                batch_id = upload()
            with Phase(results, "validate", trace):
                status = services.validate(batch_id)
            assert status.value == "ready", status
            services.start_commit(db.session.get(services.ImportBatch, (company.id, batch_id)), actor=user)
            with Phase(results, "commit", trace):
                status = services.commit(batch_id, user.id)
            assert status.value == "committed", status
            batch_id = upload()
            with Phase(results, "again", trace):
                services.validate(batch_id)
            batch = db.session.get(services.ImportBatch, (company.id, batch_id))
            assert batch.unchanged_count == batch.total_rows, (batch.unchanged_count, batch.total_rows)
    return results


# --- the driver ---------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000, 50_000])
    parser.add_argument("--formats", nargs="+", default=["xlsx", "csv"], choices=["xlsx", "csv"])
    parser.add_argument("--child", nargs=4, metavar=("DATABASE", "FILE", "WORKDIR", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        database, file, workdir, mode = args.child
        print(json.dumps(child(database, Path(file), Path(workdir), trace=mode == "trace")))
        return

    databases = ["sqlite"]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(os.environ["BENCH_DATABASE_URL"])
    print("| database | file | rows | size | upload | validate | commit | re-import check |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="guanjia-bench-") as tmp:
        tmp_path = Path(tmp)
        for n in args.rows:
            for fmt in args.formats:
                file = tmp_path / f"roster-{n}.{fmt}"
                write_file(file, n)
                for database in databases:
                    r = {mode: _run(database, file, tmp_path, mode) for mode in ("time", "trace")}
                    name = "SQLite" if database == "sqlite" else "PostgreSQL"

                    def cell(phase, r=r):
                        return (f"{r['time'][phase]['seconds']:.2f} s · {r['trace'][phase]['heap_mb']:.1f} / "
                                f"{r['time'][phase]['rss_mb']:.0f} MB")

                    print(f"| {name} | {fmt} | {n:,} | {file.stat().st_size / 1048576:.1f} MB | {cell('upload')} | "
                          f"{cell('validate')} | {cell('commit')} | {cell('again')} |", flush=True)
    print("\nEach cell: wall time · peak rise of the Python heap (tracemalloc, a separate run) / of the RSS.")


def _run(database: str, file: Path, tmp: Path, mode: str) -> dict:
    workdir = Path(tempfile.mkdtemp(dir=tmp))
    out = subprocess.run(
        [sys.executable, __file__, "--child", database, str(file), str(workdir), mode],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "GUANJIA_INSTANCE_PATH": str(workdir)},
    )
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"run failed: {database} {file.name}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()

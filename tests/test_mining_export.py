"""Event-log export: XES, OCEL 2.0 (JSON and SQLite) and CSV, read back by PM4Py and lxml."""
from __future__ import annotations

import csv
import sqlite3

import pytest
from lxml import etree
from sqlalchemy import create_engine, func, select

from engine.store import Case, Matter, ProcessVersion, TaskEvent
from onetrip_testing import CliHarness, setup_people
from onetrip_testing.mining import generate_cases

pm4py = pytest.importorskip("pm4py", reason="the mining extra (pip install -e '.[mining]') is not installed")

XES = "{http://www.xes-standard.org/}"
ACTIVITIES = ("complete", "return", "timer")


def _counts(db_url, matter=None, label=None):
    """Cases and activity events in the database, counted independently of the exporter."""
    eng = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    with eng.connect() as conn:
        cases = (select(Case.id).join(ProcessVersion, Case.version_id == ProcessVersion.id)
                 .join(Matter, ProcessVersion.matter_id == Matter.id))
        if matter:
            cases = cases.where(Matter.code == matter)
        if label:
            cases = cases.where(ProcessVersion.label == label)
        ids = cases.scalar_subquery()
        events = conn.scalar(select(func.count()).select_from(TaskEvent)
                             .where(TaskEvent.case_id.in_(ids), TaskEvent.action.in_(ACTIVITIES)))
        with_events = conn.scalar(select(func.count(func.distinct(TaskEvent.case_id)))
                                  .where(TaskEvent.case_id.in_(ids), TaskEvent.action.in_(ACTIVITIES)))
        lanes = conn.scalar(select(func.count(func.distinct(TaskEvent.lane)))
                            .where(TaskEvent.case_id.in_(ids), TaskEvent.action.in_(ACTIVITIES)))
        all_cases = conn.scalar(select(func.count()).select_from(cases.subquery()))
    eng.dispose()
    return {"cases": with_events, "all_cases": all_cases, "events": events, "lanes": lanes}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("mining") / "demo.db"
    url = f"sqlite:///{path}"
    generate_cases(url, ["CJRZSL", "SPJYXK", "JZZBL"], 6, seed=3).dispose()
    return url


def _pg_demo():
    from onetrip_testing import postgres_database
    return postgres_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_demo(request, demo_db):
    if request.param == "sqlite":
        yield demo_db
        return
    with _pg_demo() as url:
        generate_cases(url, ["CJRZSL", "SPJYXK"], 4, seed=4).dispose()
        yield url


def test_xes_reads_back_in_pm4py_with_the_same_counts(any_demo, tmp_path):
    cli = CliHarness(any_demo)
    out = tmp_path / "log.xes"
    r = cli.json(["export", "xes", "-o", str(out)])
    expected = _counts(any_demo)
    assert (r["cases"], r["events"]) == (expected["cases"], expected["events"])
    log = pm4py.read_xes(str(out), return_legacy_log_object=True)
    assert len(log) == expected["cases"]
    assert sum(len(t) for t in log) == expected["events"]
    frame = pm4py.read_xes(str(out))
    assert frame["case:concept:name"].nunique() == expected["cases"]
    for column in ("org:group", "org:resource", "lifecycle:transition", "onetrip:onsite", "onetrip:returned",
                   "onetrip:workday", "onetrip:materials"):
        assert column in frame.columns, column
    # A returned step is an event with returned=true, and working days never run backwards within a case.
    assert frame["onetrip:returned"].any()
    assert (frame.groupby("case:concept:name")["onetrip:workday"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_ocel_json_and_sqlite_read_back_with_the_same_objects(any_demo, tmp_path):
    cli = CliHarness(any_demo)
    expected = _counts(any_demo)
    results = {}
    for name in ("log.json", "log.sqlite"):
        r = cli.json(["export", "ocel", "-o", str(tmp_path / name)])
        assert r["events"] == expected["events"]
        results[name] = r
    j = pm4py.read_ocel2_json(str(tmp_path / "log.json"))
    s = pm4py.read_ocel2_sqlite(str(tmp_path / "log.sqlite"))
    for ocel, r in ((j, results["log.json"]), (s, results["log.sqlite"])):
        assert len(ocel.events) == expected["events"]
        assert len(ocel.objects) == r["objects"]
        types = ocel.objects["ocel:type"].value_counts().to_dict()
        assert types["case"] == expected["all_cases"]
        assert types["department"] == expected["lanes"]
        assert types["material"] > 0
        # every event belongs to exactly one case object
        rel = ocel.relations[ocel.relations["ocel:type"] == "case"]
        assert rel["ocel:eid"].nunique() == expected["events"] == len(rel)


def test_csv_and_filters(demo_db, tmp_path):
    cli = CliHarness(demo_db)
    out = tmp_path / "after.csv"
    r = cli.json(["export", "csv", "--matter", "CJRZSL", "--label", "after", "-o", str(out)])
    expected = _counts(demo_db, "CJRZSL", "after")
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == r["events"] == expected["events"]
    assert {row["matter"] for row in rows} == {"CJRZSL"} and {row["label"] for row in rows} == {"after"}
    # --since after every acceptance: no case
    empty = cli.json(["export", "csv", "--since", "2030-01-01", "-o", str(tmp_path / "none.csv")])
    assert (empty["cases"], empty["events"]) == (0, 0)


def test_xes_escapes_names_and_is_well_formed(sqlite_url, sample_bpmn, tmp_path):
    cli = CliHarness(sqlite_url)
    setup_people(cli)
    odd = 'A&B <"窗口"> \'x\''
    cli.ok(["user", "add", odd, "--role", "clerk", "--department", "政务服务中心综合窗口"], user="admin")
    cli.ok(["process", "upload", str(sample_bpmn), "--label", "before"], user="李设计")
    cli.ok("case start JZZSAMPLE --label before", user="王窗口", now="2026-03-02T09:00")
    cli.ok("task complete 1.1", user=odd, now="2026-03-02T10:00")
    out = tmp_path / "odd.xes"
    cli.ok(["export", "xes", "-o", str(out)])
    tree = etree.parse(str(out))
    resources = tree.xpath("//x:event/x:string[@key='org:resource']/@value", namespaces={"x": XES[1:-1]})
    assert resources == [odd]
    assert pm4py.read_xes(str(out))["org:resource"].tolist() == [odd]


def test_export_errors_are_one_line_and_leave_no_file(demo_db, tmp_path):
    cli = CliHarness(demo_db)
    keep = tmp_path / "keep.xes"
    keep.write_text("previous", encoding="utf-8")
    cases = [
        (["export", "xes", "--matter", "NOPE", "-o", str(keep)], "Error: no matter NOPE"),
        (["export", "xes", "--since", "2026-13-01", "-o", str(keep)],
         "Error: --since '2026-13-01': expected a date like 2026-03-02"),
        (["export", "xes", "--since", "2026-05-01", "--until", "2026-04-01", "-o", str(keep)],
         "Error: --until 2026-04-01 is before --since 2026-05-01"),
        (["export", "ocel", "-o", str(tmp_path / "log.txt")],
         f"Error: {tmp_path / 'log.txt'}: an OCEL file ends in .json (OCEL 2.0 JSON) or .sqlite (OCEL 2.0 SQLite)"),
        (["export", "xes", "-o", str(tmp_path / "missing" / "x.xes")],
         f"Error: {tmp_path / 'missing' / 'x.xes'}: cannot write there (no such writable folder)"),
        (["export", "xes", "-o", str(tmp_path)], f"Error: {tmp_path}: is a folder; give a file name with -o"),
    ]
    for args, line in cases:
        r = cli(args)
        assert r.exit_code != 0, args
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
        if line:
            assert r.stderr.strip() == line
    assert keep.read_text(encoding="utf-8") == "previous"
    assert not list(tmp_path.glob(".*.part"))
    r = cli(["export", "json", "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and "xes|ocel|csv" in r.stderr


def test_ocel_sqlite_tables_follow_the_standard(demo_db, tmp_path):
    out = tmp_path / "log.sqlite"
    CliHarness(demo_db).ok(["export", "ocel", "--matter", "CJRZSL", "-o", str(out)])
    db = sqlite3.connect(out)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"event", "object", "event_object", "object_object", "event_map_type", "object_map_type"} <= tables
    for (etype, suffix) in db.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"):
        n = db.execute(f'SELECT count(*) FROM "event_{suffix}"').fetchone()[0]
        assert n == db.execute("SELECT count(*) FROM event WHERE ocel_type = ?", (etype,)).fetchone()[0]
    db.close()

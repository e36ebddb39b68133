"""Every model of the interop corpus (tests/interop/, see SOURCES.md) goes through validate,
analyze and, when accepted, upload and case start, in-process through the service on a real
SQLite file: no traceback, no internal error (what the CLI turns into exit 70), no hang.

A refusal is fine (one clear line), and a refused but readable model still
uploads with ``--descriptive``; what is not fine is anything that is not an
``OnetripError``, or validate saying ok and upload or case start then refusing the model.
"""
from __future__ import annotations

import faulthandler
from pathlib import Path

import pytest

from engine.config import Settings
from engine.errors import ModelError, OnetripError, ScriptError
from engine.context import Context
from engine.service import Service

CORPUS = Path(__file__).parent / "interop"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix != ".md")
PER_FILE_SECONDS = 30


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    db = tmp_path_factory.mktemp("interop") / "interop.db"
    svc = Service(Settings.from_env(db=f"sqlite:///{db}", user="管理员"))
    svc.ctx = Context("管理员", svc.settings.clock)
    svc.init(svc.ctx)                     # only init creates a database file
    svc.add_user(svc.ctx, "管理员", None, "admin")
    yield svc
    svc.dispose()


def test_the_corpus_is_there_and_from_several_sources():
    sources = {p.relative_to(CORPUS).parts[0] for p in FILES}
    assert len(FILES) >= 300 and len(sources) >= 5, (len(FILES), sources)
    listed = (CORPUS / "SOURCES.md").read_text(encoding="utf-8")
    assert all(f"`{s}/`" in listed for s in sources)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_validate_analyze_and_start_never_fail_inside(service, path):
    # A hang ends the run with every thread's traceback: a watchdog thread, not SIGALRM, which the
    # sandbox owns while a model's code runs (a raising handler of ours could fire inside its clean-up).
    faulthandler.dump_traceback_later(PER_FILE_SECONDS, exit=True)
    try:
        [result] = service.validate(service.ctx, [str(path)])
        assert all("\n" not in p for p in result["problems"])
        try:
            service.analyze(service.ctx, [str(path)])
        except ModelError as exc:      # unreadable files only: anything readable is analysed
            assert not result["valid"] and str(exc) in result["problems"]
        code = "IOP" + str(FILES.index(path))
        if not result["valid"]:
            if result["process_id"] is not None:     # readable: a descriptive upload never fails
                record = service.upload(service.ctx, str(path), "before", code, allow_descriptive=True)
                # it may even run now: its calls bound to processes another corpus file stored
                assert record["created"] and (not record["executable"]
                                              or service.show_version(service.ctx, record["id"])["bindings"])
            return
        record = service.upload(service.ctx, str(path), "after", code)
        assert record["executable"], record
        try:
            case = service.start_case(service.ctx, code)
        except ScriptError as exc:      # the case needs start data this corpus cannot know
            assert "\n" not in str(exc)
            return
        assert case["id"] and case["version"] == record["id"]
    except OnetripError:
        raise AssertionError(f"validate said {path.name} is ok, then it was refused") from None
    finally:
        faulthandler.cancel_dump_traceback_later()

"""The facade's mining methods: export, conformance, simulate (mixed into ``Service``).

Each is one use case over the store, like the rest of the facade: it returns
plain dicts ready for JSON and raises :class:`~engine.errors.OnetripError`
for anything a user can get wrong.  Long reads (an export of a million
events) run in a read-only transaction, so clerks keep working meanwhile;
the working-day calendar they join is materialised first in a short write.
"""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from .. import measure
from ..context import Context
from ..errors import InvalidInput
from ._base import ServiceBase, operation


#: ``compare --stored`` and the report replay every case up to this many; beyond, they check the
#: promises only (trips, returns, days — from the case rows) and ``onetrip conformance`` replays.
REPLAY_LIMIT = measure.REPLAY_LIMIT
#: Cases whose conformance one pass of ``onetrip worker`` checks at most.
WORKER_CONFORMANCE_CASES = 500


class MiningMethods(ServiceBase):
    """Mixed into :class:`engine.service.Service` (uses ``_measured`` of the reports mixin)."""

    def _mining_filter(self, matter_code=None, label=None, since=None, until=None):
        from .. import store
        from ..mining import log as evlog
        flt = evlog.LogFilter(matter_code or None, label or None, evlog.parse_date(since, "--since"),
                              evlog.parse_date(until, "--until")).check()
        from .. import measure
        with self._tx() as tx:
            s = tx.session
            if flt.matter_code:
                store.get_matter(s, flt.matter_code)
            calendar = self._calendar(s)
            first, last = measure.calendar_span(s, self._ctx.today())
            measure.ensure_calendar(s, calendar, first, last)
            self._note_calendar(calendar, first, last)
        return flt, calendar

    def _add_conformance(self, s, rows) -> None:
        """Beside the measured figures of ``compare --stored``: the share of conforming cases, from the
        stored results (:func:`engine.measure.conformance_figures`); the cases without a current one are
        checked first (SpiffWorkflow) and their results stored, so the next call reads tables only."""
        conn, today = s.connection(), self._ctx.today()
        figures = measure.conformance_figures(conn, today, REPLAY_LIMIT)
        if not figures.complete:
            stale = measure.stale_conformance(conn, figures.replay)
            measure.store_conformance(conn, self._check_stale(s, stale, figures.replay))
            figures = measure.conformance_figures(conn, today, REPLAY_LIMIT)
        measure.add_conformance(rows, figures)

    def _check_stale(self, s, stale, replay: bool) -> list[dict]:
        from ..mining import conformance
        calendar, today, now, facts, out = self._calendar(s), self._ctx.today(), self._ctx.now(), {}, []
        for i in range(0, len(stale), 500):
            out += conformance.stored_results(s, stale[i:i + 500], calendar, today, replay, now, facts)
        return out

    def _conformance_pass(self, limit: int = WORKER_CONFORMANCE_CASES) -> int:
        """The worker's share: check the conformance of up to ``limit`` cases that ended or moved since
        their last check (read, replay, then one short write), so that ``compare --stored`` finds them
        stored.  Returns how many were stored."""
        with self._tx(readonly=True) as tx:
            s = tx.session
            conn = s.connection()
            figures = measure.conformance_figures(conn, self._ctx.today(), REPLAY_LIMIT)
            if figures.complete:
                return 0
            rows = self._check_stale(s, measure.stale_conformance(conn, figures.replay, limit), figures.replay)
        if rows:
            with self._tx() as tx:
                measure.store_conformance(tx.session.connection(), rows)
        return len(rows)

    def _replay_all(self, s) -> bool:
        """Whether a whole-catalog view (compare, report) replays every case: not beyond REPLAY_LIMIT."""
        from ..mining.log import LogFilter, count_cases
        return count_cases(s, LogFilter()) <= REPLAY_LIMIT

    @operation
    def export_log(self, ctx: Context, fmt: str, path: str | Path, matter_code: str | None = None,
                   label: str | None = None, since=None, until=None) -> dict:
        """Write the event log of the chosen cases as XES, OCEL 2.0 or CSV (streamed)."""
        from ..mining import export
        if fmt not in export.FORMATS:
            raise InvalidInput(f"unknown export format {fmt!r}: use {', '.join(export.FORMATS)}")
        flt, _ = self._mining_filter(matter_code, label, since, until)
        with self._tx(readonly=True) as tx:
            s = tx.session
            return export.export(s, fmt, flt, path)

    @operation
    def conformance(self, ctx: Context, matter_code: str | None = None, label: str | None = None,
                    with_pm4py: bool = False) -> dict:
        """Per case fitness and promise checks; per matter share conforming and top deviations."""
        from .. import store
        from ..mining import conformance
        if with_pm4py:
            from ..mining import require_pm4py
            require_pm4py("conformance --pm4py")
        flt, calendar = self._mining_filter(matter_code, label)
        with self._tx(readonly=True) as tx:
            s = tx.session
            results = conformance.check_cases(s, flt, calendar, self._ctx.today())
            if with_pm4py and results:
                conformance.pm4py_fitness(s, flt, results)
            names = {m.code: m.name for m in s.scalars(select(store.Matter))}
        return {"matters": conformance.summarize(results, names), "cases": [r.to_dict() for r in results]}

    @operation
    def simulate(self, ctx: Context, matter_code: str, label: str = "after", calibrate_from: str | None = None,
                 cases: int = 1000, seed: int = 1, arrivals: float | None = None) -> dict:
        """Run the deployed model of ``label`` for ``cases`` simulated cases, calibrated from measured ones."""
        from .. import store
        from .. import measure
        from ..mining import simulate
        with self._tx() as tx:          # materialises the calendar for the measured figures
            s = tx.session
            store.get_matter(s, matter_code)
            measured = self._measured(s, measure.Filters(matter_code))
            calendar = self._calendar(s)
        with self._tx(readonly=True) as tx:
            s = tx.session
            result = simulate.simulate(s, calendar, matter_code, label, calibrate_from, cases, seed, arrivals,
                                       measured)
        self._note_calendar(calendar)
        return result

    @operation
    def report_mining(self, ctx: Context, simulations: list[dict] | None = None) -> dict:
        """The HTML report's mining sections: conformance per matter, and the given simulations."""
        from .. import store
        from ..mining import conformance
        from ..mining.log import LogFilter
        with self._tx(readonly=True) as tx:
            s = tx.session
            results = conformance.check_cases(s, LogFilter(), self._calendar(s), self._ctx.today(),
                                              replay_steps=self._replay_all(s))
            names = {m.code: m.name for m in s.scalars(select(store.Matter))}
        return {"conformance": conformance.summarize(results, names), "simulations": simulations or []}

    @operation
    def demo_simulations(self, ctx: Context, cases: int = 40, seed: int = 1) -> list[dict]:
        """Per matter with measured after-cases: the after model calibrated from its own cases (a check of
        the calibration) and from the before cases (the what-if a reformer asks before rollout)."""
        from .. import store
        with self._tx(readonly=True) as tx:
            s = tx.session
            pairs = sorted({(v.matter.code, v.label) for v in store.current_versions(s, executable_only=True).values()
                            if v.matter.kind == "matter"})
        out = []
        for code, label in pairs:
            if label != "after" or (code, "before") not in pairs:
                continue
            for source in ("after", "before"):
                try:
                    out.append(self._nested(self.simulate(ctx, code, "after", source, cases, seed)))
                except InvalidInput:          # no completed cases to calibrate from
                    continue
        return out

"""Measurement and reports: the stored comparison, metrics, the calendar, report details."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..context import Context
from ._base import ServiceBase, _matter, operation


class ReportMethods(ServiceBase):
    @operation
    def compare_stored(self, ctx: Context) -> dict:
        """Latest before and after version of every matter, with measured figures where cases ran."""
        from .. import store
        from .. import compare, measure
        with self._tx() as tx:
            s = tx.session
            latest = store.current_versions(s)
            matters = {v.matter.code: v.matter for v in latest.values()}
            before = {code: v.metrics for (code, label), v in latest.items() if label == "before"}
            after = {code: v.metrics for (code, label), v in latest.items() if label == "after"}
            result = compare.pair(before, after, {c: m.name for c, m in matters.items()},
                                  {c: m.kind for c, m in matters.items()})
            measured = self._measured(s, measure.Filters())
            for row in result.matters:
                row.measured = {r["label"]: r for r in measured if r["matter_code"] == row.matter_code}
            self._add_conformance(s, result.matters)
            return result.to_dict()

    @operation
    def metrics(self, ctx: Context, matter_code: str | None = None, since=None, until=None) -> dict:
        from .. import measure
        with self._tx() as tx:
            s = tx.session
            if matter_code:
                _matter(s, matter_code)
            rows = self._measured(s, measure.Filters(matter_code, since, until))
            return {"matters": rows}

    def _measured(self, s: Session, filters) -> list[dict]:
        from .. import measure
        return measure.matter_metrics(s, self._measure_calendar(s), filters)

    def _measure_calendar(self, s: Session):
        """Make the working-day calendar the measuring queries join cover every case's span; today."""
        from .. import measure
        today = self._ctx.today()
        calendar = self._calendar(s)
        first, last = measure.calendar_span(s, today)
        measure.ensure_calendar(s, calendar, first, last)
        self._note_calendar(calendar, first, last)
        return today

    @operation
    def calendar(self, ctx: Context) -> dict:
        """The imported working-day calendar years (:func:`engine.workdays.calendar_from_record` rebuilds it)."""
        from ..store import CalendarYear
        with self._tx(readonly=True) as tx:
            return {"years": [{"year": y.year, "holidays": sorted(y.holidays or []),
                               "workdays": sorted(y.workdays or []), "source": y.source or ""}
                              for y in tx.session.scalars(select(CalendarYear).order_by(CalendarYear.year))]}

    @operation
    def report_details(self, ctx: Context) -> dict:
        """Diagrams of the latest versions and measured working-day distributions, per matter."""
        from .. import store
        from .. import bpmn_model, bpmn_svg, measure
        with self._tx() as tx:
            s = tx.session
            details: dict = {}
            for (code, label), v in store.current_versions(s).items():
                doc = bpmn_model.load_bytes(v.bpmn_xml.encode("utf-8"), v.filename)
                details.setdefault(code, {})[label] = bpmn_svg.render_svg(
                    doc, (v.metrics or {}).get("task_materials"))
            today = self._measure_calendar(s)     # the per-matter metrics themselves are not needed here
            dist: dict = {}
            per_case = measure.case_metrics_query(today).subquery()
            for row in s.execute(select(per_case.c.matter_code, per_case.c.label, per_case.c.elapsed)
                                 .where(per_case.c.status == "completed")
                                 .order_by(per_case.c.case_id)):
                dist.setdefault(row.matter_code, {}).setdefault(row.label, []).append(int(row.elapsed))
            return {"diagrams": details, "distributions": dist}

    @operation
    def report_html(self, ctx: Context, comparison: dict, subtitle: str = "", simulated: bool = False,
                    simulations: list[dict] | None = None) -> dict:
        """The HTML report of ``comparison`` with diagrams, distributions and mining sections; the caller
        writes it where it wants (``onetrip demo``: :func:`engine.demo.write_report`)."""
        from ..html_report import render_html
        details = self._nested(self.report_details(ctx))
        mining = self._nested(self.report_mining(ctx, simulations))
        return {"html": render_html(comparison, details["diagrams"], details["distributions"], subtitle=subtitle,
                                    simulated=simulated, mining=mining)}

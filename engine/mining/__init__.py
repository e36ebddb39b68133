"""Process mining over the store: event-log export, conformance, calibrated simulation.

* :mod:`.log` reads the task events of the chosen cases from the database in
  batches (one ordered, streamed query; nothing holds the whole log);
* :mod:`.export` writes them as XES (IEEE 1849), OCEL 2.0 (JSON or SQLite) or CSV;
* :mod:`.conformance` replays each case on the deployed model (SpiffWorkflow)
  and checks the reform's promises (trips, returns, promised days);
* :mod:`.simulate` fits step durations, returns, supplement delays, arrivals
  and clerk capacity from measured cases and runs the deployed model on a
  simulated clock over China's working days;
* :mod:`engine.service.mining` is the facade's method group for the three commands.

PM4Py is optional (``pip install -e '.[mining]'``): only ``conformance --pm4py``
and the tests that read exported logs back use it (:func:`require_pm4py`).
"""
from __future__ import annotations

from ..errors import OnetripError


class MissingExtra(OnetripError):
    """An optional dependency is not installed."""


def require_pm4py(what: str):
    """Import PM4Py quietly, or refuse with one line naming the extra to install."""
    try:
        import pm4py      # its licence banner prints only when imported from __main__
    except ImportError:
        raise MissingExtra(f"{what} needs PM4Py, which is not installed: "
                           f"pip install -e '.[mining]'") from None
    return pm4py

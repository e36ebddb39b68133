"""The two output writers every report shares: JSON for programs, CSV for Excel.

One home, so ``--format json`` and ``--format csv`` read alike whatever the command:
JSON keeps Chinese text as is (``ensure_ascii=False``) and prints dates as ISO text;
CSV is UTF-8 with a BOM and CRLF line ends, which Excel needs to open Chinese text.
The mining export's CSV is a data file for mining tools (no BOM) and is not this one.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable


def json_text(value) -> str:
    """``value`` as indented JSON text (anything not JSON-native, e.g. a date, as its ``str``)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def csv_text(rows: Iterable[Iterable]) -> str:
    """``rows`` (the header first) as CSV text for Excel: a BOM, then CRLF-ended lines."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return "\ufeff" + buf.getvalue()

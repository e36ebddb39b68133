"""The engine's layers, declared once; ``tests/test_layers.py`` holds the import graph to them.

Each module belongs to one layer.  A module may import modules of its own layer and of
the layers below it — at the top of the file or inside a function alike (a lazy import
is an import) — and never one of a layer above; no two modules import each other, even
through others.  A new module gets a line here (the test fails until it has one).

=========  ==========================================================================
layer      may import (besides the standard library and third-party packages)
=========  ==========================================================================
base       base only: errors, settings, clock, context, annotation rules, values, roles
model      + base: XML intake and the model, JUEL, static analysis, catalog, working
           days, comparison; no SpiffWorkflow, no database
execution  + model: compiling to SpiffWorkflow, running a case, the script sandbox
store      + execution: the tables, one case's step (casework), measurement, the
           audit chain, authentication, migrations
reports    + store: the output formats (table, JSON, CSV, Markdown, HTML, SVG)
mining     + reports: log export, conformance, calibrated simulation
service    + mining: the facade (engine.service) and the demo
interface  + service: cli.py, the web server (web/) and the remote client
           (onetrip_client/, which imports only base modules: no SQLAlchemy, no SpiffWorkflow)
=========  ==========================================================================
"""
from __future__ import annotations

ORDER = ("base", "model", "execution", "store", "reports", "mining", "service", "interface")

#: module -> layer (exact names: a new module must be added).
MODULES: dict[str, str] = {
    "engine": "base",                   # the package itself is empty
    "engine.errors": "base",
    "engine.config": "base",
    "engine.clock": "base",
    "engine.context": "base",
    "engine.annotations": "base",
    "engine.values": "base",
    "engine.safetext": "base",
    "engine.roles": "base",
    "engine.layers": "base",
    "engine.protocol": "base",          # the operations table: names, roles and record types only

    "engine.bpmn_model": "model",
    "engine.juel": "model",
    "engine.analysis": "model",
    "engine.catalog": "model",
    "engine.workdays": "model",
    "engine.compare": "model",

    "engine.compiler": "execution",
    "engine.runtime": "execution",
    "engine.sandbox": "execution",
    "engine.steplimits": "execution",   # the step's deadline and memory limit (no RestrictedPython)

    "engine.database": "store",         # opening a database with Core only (no ORM)
    "engine.reads": "store",            # task, case and version lists with Core only (the fast local CLI)
    "engine.tables": "store",           # the columns those Core reads use (and measure), as table clauses
    "engine.store": "store",
    "engine.casework": "store",
    "engine.rawsql": "store",           # the step's statements on the driver cursor (casework)
    "engine.measure": "store",
    "engine.audit": "store",
    "engine.auth": "store",
    "engine.migrations": "store",

    "engine.writers": "reports",
    "engine.report": "reports",
    "engine.html_report": "reports",
    "engine.bpmn_svg": "reports",
    # The HTML sections of mining results: a format (it imports only engine.report), which the
    # comparison page (html_report) includes, so it sits with the formats, not above them.
    "engine.mining.html": "reports",

    "engine.mining": "mining",

    "engine.service": "service",        # the module now; the package engine/service/ after the split
    "engine.demo": "service",

    "cli": "interface",
    "web": "interface",
    "onetrip_client": "interface",
}


#: packages whose every module shares the package's layer (unless named in MODULES).
PACKAGES = ("engine.migrations", "engine.mining", "engine.service", "web", "onetrip_client")


def layer_of(module: str) -> str | None:
    """The layer of a dotted module name, or ``None`` when it has none yet."""
    if module in MODULES:
        return MODULES[module]
    for package in PACKAGES:
        if module.startswith(package + "."):
            return MODULES[package]
    return None


def rank(layer: str) -> int:
    return ORDER.index(layer)

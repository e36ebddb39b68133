"""The service's operations, declared once.

Each :class:`Operation` names a :class:`engine.service.Service` method, the capability it belongs to,
who may call it, what it takes (after the :class:`~engine.context.Context`) and what it returns.  The
in-process Service checks roles from this table (``ServiceBase._actor``); the HTTP routes of
``onetrip serve`` and the remote CLI's client follow from ``http``; ``tests/test_protocol.py`` checks
the table against all of them, so an operation cannot exist in one and not the others.

``roles`` are checked by the Service wherever an operation acts as someone (every write, and
``list_tasks`` without ``show_all``); reads that do not depend on who asks (lists, shows, metrics) run
in-process without an actor, as the local CLI always allowed — an HTTP adapter authenticates every
request before calling them, and may require ``roles`` of its own there.  ``lane`` is enforced where
the task is found (``CaseMethods._complete_once``); the refusal names the lane and the clerk's department.

To add an operation: declare it here (params and result TypedDicts, roles, route), write the method
with ``@operation`` in the capability's module of ``engine/service/``, and run tests/test_protocol.py.

Only the standard library is imported here: the web layer and the remote client read this table
without loading the engine.
"""

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from .errors import PermissionDenied
from .roles import ADMIN_ROLES, AUDIT_ROLES, CASE_ROLES, TASK_ROLES, UPLOAD_ROLES


class RecordList(list):
    """A list result (e.g. ``list_tasks``) that carries the call's warnings beside its rows."""

    def __init__(self, rows=(), warnings: list[str] | None = None):
        super().__init__(rows)
        self.warnings = list(warnings or [])


def warnings_of(result) -> list[str]:
    """The one-line warnings a result carries (a record's ``"warnings"``, a list's ``.warnings``)."""
    if isinstance(result, dict):
        return list(result.get("warnings") or [])
    return list(getattr(result, "warnings", None) or [])


def take_warnings(result) -> list[str]:
    """The result's warnings, taken off it: a record loses its ``"warnings"`` key (a caller that shows
    warnings on its own, as the CLI does on stderr, prints the record without them)."""
    found = warnings_of(result)
    if isinstance(result, dict):
        result.pop("warnings", None)
    return found


#: Params that name files the service reads: over HTTP they travel as uploads (multipart form fields of
#: the same name), so the server and the remote client agree on which they are.
FILE_PARAMS = ("paths", "path", "files", "before", "after")
#: Params that name files on the database's own machine (a key, a checkpoint, a catalog folder) or that
#: the server fills from the request (the client's address, the bearer token): never sent over HTTP.
LOCAL_PARAMS = frozenset({"checkpoint", "pubkey", "key", "directory", "progress", "client", "token"})


@dataclass(frozen=True)
class Operation:
    name: str                      # the Service method name, e.g. "complete_task"
    capability: str                # "cases" | "models" | "reports" | "admin" | "mining"
    summary: str                   # one line, English
    roles: tuple[str, ...]         # roles that may call it; () = any known user
    lane: bool                     # True: the task's lane must be the acting clerk's department
    writes: bool                   # False for read-only operations
    params: type                   # a TypedDict class: the arguments after ctx (names = Service kwargs)
    result: Any                    # a TypedDict class (or list[TypedDict]) of the JSON-ready record returned
    http: tuple[str, str] | None   # ("POST", "/api/tasks/{ref}/complete"); None = local only
    denied: str = "do this"        # "only clerks may <denied>": the refusal's wording
    # Over the server, stricter than in direct mode (whose reads need the database's credentials anyway):
    served_roles: tuple[str, ...] | None = None   # roles the server requires; None = ``roles``
    served_lane: bool = False      # the server also holds a read of the task to the clerk's lane

    def allowed_roles(self, served: bool = False) -> tuple[str, ...]:
        return self.served_roles if served and self.served_roles is not None else self.roles

    def check_role(self, name: str, role: str, served: bool = False) -> None:
        """The one refusal of a role: "李 is a clerk; only designers or admins may upload process models"."""
        roles = self.allowed_roles(served)
        if roles and role not in roles:
            article = "an" if role[:1] in "aeiou" else "a"
            raise PermissionDenied(f"{name} is {article} {role}; only "
                                   f"{' or '.join(r + 's' for r in roles)} may {self.denied}")


# ---------------------------------------------------------------- records (results)

class UserRecord(TypedDict):
    name: str
    role: str
    department: str | None
    created_at: str | None
    warning: NotRequired[str]


class VersionRecord(TypedDict):
    id: int
    matter_code: str
    matter_name: str
    process_id: str
    name: str | None
    label: str
    sha256: str
    executable: bool
    uploaded_by: str | None
    uploaded_at: str | None
    created: NotRequired[bool]
    reactivated: NotRequired[bool]
    problems: NotRequired[list[str]]
    metrics: NotRequired[dict]
    cases: NotRequired[int]
    filename: NotRequired[str]
    files: NotRequired[list[str]]
    translations: NotRequired[list[dict]]
    bindings: NotRequired[list[dict]]
    warnings: NotRequired[list[str]]


class TaskRecord(TypedDict):
    id: str
    case: int
    task: str
    name: str
    lane: str | None
    matter_code: str
    label: str
    onsite: bool
    props: dict
    ready_at: str | None
    due_date: str | None
    overdue: NotRequired[bool]
    data: NotRequired[dict]
    returnable: NotRequired[bool]


class CaseRecord(TypedDict):
    id: int
    matter_code: str
    matter_name: str
    label: str
    version: int
    status: str
    accepted_at: str | None
    completed_at: str | None
    due_date: str | None
    overdue: bool
    revision: int
    ready: NotRequired[list[TaskRecord]]
    applicant: NotRequired[dict]
    measured: NotRequired[dict]
    events: NotRequired[list[dict]]
    quarantine: NotRequired[dict]
    warnings: NotRequired[list[str]]


class ValidationRecord(TypedDict):
    file: str
    process_id: str | None
    matter_code: str | None
    valid: bool
    problems: list[str]
    translations: NotRequired[list[dict]]


class CatalogEntry(TypedDict):
    code: str
    name: str
    kind: str
    department: str | None
    members: list[str]
    versions: list[dict]


class Comparison(TypedDict, total=False):
    matters: list[dict]
    totals: dict
    diagrams: dict
    warnings: list[str]


class Metrics(TypedDict):
    matters: list[dict]
    warnings: NotRequired[list[str]]


class CalendarYearRecord(TypedDict):
    year: int
    holidays: list[str]
    workdays: list[str]
    source: str


class CalendarRecord(TypedDict):
    years: list[CalendarYearRecord]


class DemoVersion(TypedDict):
    matter_code: str
    label: str
    version: int
    returnable: list[str]
    lanes: list[str]
    expected_steps: int


class ReportDetails(TypedDict):
    diagrams: dict          # matter code -> label -> SVG text
    distributions: dict     # matter code -> label -> working days of each completed case


class ReportHtml(TypedDict):
    html: str


class InitRecord(TypedDict):
    database: str
    schema_revision: str | None
    simulation: bool


class PasswordSet(TypedDict):
    name: str
    password: str           # "set"


class Revoked(TypedDict):
    name: str
    revoked: int            # tokens ended


class TokenRecord(TypedDict):
    access_token: str
    token_type: str         # "bearer"
    expires_in: int         # seconds


class LoggedOut(TypedDict):
    logged_out: bool


class WorkerPass(TypedDict):
    cases: int
    timers: int
    failures: list[dict]


class Reminder(TypedDict):
    case: int
    matter_code: str
    due_date: str
    overdue: bool


class AuditVerification(TypedDict):
    cases: int
    events: int
    ok: bool
    findings: list[str]
    checkpoint: NotRequired[dict]


class AuditCheckpoint(TypedDict):
    file: str
    created_at: str
    key_id: str
    cases: int
    events: int
    findings: list[str]


class KeyPair(TypedDict, total=False):
    key: str
    public_key: str
    key_id: str


class CalendarImport(TypedDict):
    year: int
    holidays: int
    workdays: int
    source: str
    due_dates_moved: int


class ExportRecord(TypedDict, total=False):
    format: str
    file: str
    cases: int
    events: int
    warnings: list[str]


class ConformanceRecord(TypedDict):
    matters: list[dict]
    cases: list[dict]
    warnings: NotRequired[list[str]]


class SimulationRecord(TypedDict, total=False):
    matter_code: str
    label: str
    calibrated_from: str
    cases: int
    warnings: list[str]


class MiningReport(TypedDict):
    conformance: list[dict]
    simulations: list[dict]


# ---------------------------------------------------------------- arguments (params)

class NoParams(TypedDict):
    pass


class StartCaseParams(TypedDict):
    matter_code: str
    label: NotRequired[str | None]
    data: NotRequired[dict | None]


class ListCasesParams(TypedDict):
    status: NotRequired[str | None]
    matter_code: NotRequired[str | None]


class CaseParams(TypedDict):
    case_id: int | str


class CancelCaseParams(TypedDict):
    case_id: int | str
    reason: str


class ListTasksParams(TypedDict):
    case_id: NotRequired[int | str | None]
    show_all: NotRequired[bool]


class TaskParams(TypedDict):
    ref: str


class CompleteTaskParams(TypedDict):
    ref: str
    data: NotRequired[dict | None]
    onsite: NotRequired[bool | None]


class ReturnTaskParams(TypedDict):
    ref: str
    reason: str
    data: NotRequired[dict | None]
    onsite: NotRequired[bool | None]


class ValidateParams(TypedDict):
    paths: list[str]
    process_id: NotRequired[str | None]


class UploadParams(TypedDict):
    path: str | list[str]          # over HTTP: the uploaded file(s), the first the main one
    label: str
    matter_code: NotRequired[str | None]
    allow_descriptive: NotRequired[bool]
    process_id: NotRequired[str | None]


class LoadCatalogParams(TypedDict):
    directory: NotRequired[str | None]
    progress: NotRequired[Any]      # a callable ticked per model (local only)


class ListVersionsParams(TypedDict):
    matter_code: NotRequired[str | None]


class VersionParams(TypedDict):
    version_id: int | str


class AnalyzeParams(TypedDict):
    targets: list[str]              # files, or stored version ids
    process_id: NotRequired[str | None]


class CompareFilesParams(TypedDict):
    before: list[str]
    after: list[str]
    diagrams: NotRequired[bool]


class MetricsParams(TypedDict):
    matter_code: NotRequired[str | None]
    since: NotRequired[str | None]
    until: NotRequired[str | None]


class ReportHtmlParams(TypedDict):
    comparison: Comparison
    subtitle: NotRequired[str]
    simulated: NotRequired[bool]
    simulations: NotRequired[list[dict] | None]


class InitParams(TypedDict):
    simulation: NotRequired[bool]


class SetPasswordParams(TypedDict):
    name: str
    password: str


class UserParams(TypedDict):
    name: str


class LoginParams(TypedDict):
    username: str
    password: str
    client: str             # who asks (an address): failures are counted per client too


class TokenParams(TypedDict):
    token: str


class AddUserParams(TypedDict):
    name: str
    department: str | None
    role: str


class WorkerParams(TypedDict):
    limit: NotRequired[int]


class VerifyAuditParams(TypedDict):
    case_id: NotRequired[int | str | None]
    checkpoint: NotRequired[str | None]
    pubkey: NotRequired[str | None]
    key: NotRequired[str | None]


class CheckpointParams(TypedDict):
    path: str
    key: NotRequired[str | None]
    accept_findings: NotRequired[bool]


class PathParams(TypedDict):
    path: str


class ExportParams(TypedDict):
    fmt: str
    path: str
    matter_code: NotRequired[str | None]
    label: NotRequired[str | None]
    since: NotRequired[str | None]
    until: NotRequired[str | None]


class ConformanceParams(TypedDict):
    matter_code: NotRequired[str | None]
    label: NotRequired[str | None]
    with_pm4py: NotRequired[bool]


class SimulateParams(TypedDict):
    matter_code: str
    label: NotRequired[str]
    calibrate_from: NotRequired[str | None]
    cases: NotRequired[int]
    seed: NotRequired[int]
    arrivals: NotRequired[float | None]


class ReportMiningParams(TypedDict):
    simulations: NotRequired[list[dict] | None]


class DemoSimulationsParams(TypedDict):
    cases: NotRequired[int]
    seed: NotRequired[int]


# ---------------------------------------------------------------- the table


def _op(name, capability, summary, params, result, http=None, roles=(), lane=False, writes=False,
        denied="do this", served_roles=None, served_lane=False) -> Operation:
    return Operation(name, capability, summary, roles, lane, writes, params, result, http, denied,
                     served_roles, served_lane)


OPERATIONS: dict[str, Operation] = {op.name: op for op in [
    # cases and tasks
    _op("start_case", "cases", "Start a case of a matter on its current (after, else before) version.",
        StartCaseParams, CaseRecord, ("POST", "/api/cases"), CASE_ROLES, writes=True, denied="start cases"),
    _op("list_cases", "cases", "List cases, most urgent first.", ListCasesParams, list[CaseRecord],
        ("GET", "/api/cases")),
    _op("show_case", "cases", "One case with its events and ready tasks.", CaseParams, CaseRecord,
        ("GET", "/api/cases/{case_id}")),
    _op("cancel_case", "cases", "Cancel a case; no task of it stays ready.", CancelCaseParams, CaseRecord,
        ("POST", "/api/cases/{case_id}/cancel"), ADMIN_ROLES, writes=True, denied="cancel cases"),
    _op("release_case", "cases", "Release a case the worker quarantined.", CaseParams, CaseRecord,
        ("POST", "/api/cases/{case_id}/release"), ADMIN_ROLES, writes=True, denied="release quarantined cases"),
    _op("list_tasks", "cases", "Ready tasks of the acting clerk's department (or all of them).",
        ListTasksParams, list[TaskRecord], ("GET", "/api/tasks")),
    _op("show_task", "cases", "One ready task with its data.", TaskParams, TaskRecord, ("GET", "/api/tasks/{ref}"),
        served_lane=True),      # the applicant's data: another department's clerk does not read it
    _op("complete_task", "cases", "Complete a ready task of the acting clerk's department.",
        CompleteTaskParams, CaseRecord, ("POST", "/api/tasks/{ref}/complete"), TASK_ROLES, lane=True, writes=True,
        denied="complete tasks"),
    _op("return_task", "cases", "Return a ready task's file to the applicant for correction.",
        ReturnTaskParams, CaseRecord, ("POST", "/api/tasks/{ref}/return"), TASK_ROLES, lane=True, writes=True,
        denied="complete tasks"),
    # models
    _op("validate", "models", "Check BPMN files (no database).", ValidateParams, list[ValidationRecord],
        ("POST", "/api/validate")),
    _op("upload", "models", "Upload a process model (one or several files).", UploadParams, VersionRecord,
        ("POST", "/api/processes"), UPLOAD_ROLES, writes=True, denied="upload process models"),
    _op("load_catalog", "models", "Upload every catalog manifest's before and after model.",
        LoadCatalogParams, list[VersionRecord], None, UPLOAD_ROLES, writes=True, denied="load the catalog"),
    _op("list_catalog", "models", "Matters and bundles of the catalog with their versions.", NoParams,
        list[CatalogEntry], ("GET", "/api/catalog")),
    _op("list_versions", "models", "Stored process versions.", ListVersionsParams, list[VersionRecord],
        ("GET", "/api/processes")),
    _op("show_version", "models", "One stored version with its metrics and problems.", VersionParams,
        VersionRecord, ("GET", "/api/processes/{version_id}")),
    _op("analyze", "models", "Static metrics and findings of files or stored versions.", AnalyzeParams,
        list[dict], ("POST", "/api/analyze")),
    _op("compare_files", "models", "Compare before and after BPMN files or folders (no database).",
        CompareFilesParams, Comparison, ("POST", "/api/compare/files")),
    _op("demo_versions", "models", "Current executable versions with what a simulation needs.", NoParams,
        list[DemoVersion]),
    # measurement and reports
    _op("compare_stored", "reports", "Before and after of every matter, with measured figures.", NoParams,
        Comparison, ("GET", "/api/compare")),
    _op("metrics", "reports", "Measured figures per matter and label.", MetricsParams, Metrics,
        ("GET", "/api/metrics")),
    _op("calendar", "reports", "The imported working-day calendar years.", NoParams, CalendarRecord,
        ("GET", "/api/calendar")),
    _op("report_details", "reports", "Diagrams and measured distributions for the HTML report.", NoParams,
        ReportDetails, ("GET", "/api/report/details")),
    _op("report_html", "reports", "The HTML report of a comparison (the caller writes it).", ReportHtmlParams,
        ReportHtml),
    # administration
    _op("init", "admin", "Create or upgrade the database (optionally as a simulation).", InitParams, InitRecord,
        writes=True),
    _op("add_user", "admin", "Add a user (the first user needs no admin).", AddUserParams, UserRecord,
        None, ADMIN_ROLES, writes=True, denied="add users"),
    _op("list_users", "admin", "Users with role and department.", NoParams, list[UserRecord],
        ("GET", "/api/users"), served_roles=ADMIN_ROLES, denied="list users"),
    _op("run_due_timers", "admin", "Fire the expired timers of due cases.", WorkerParams, WorkerPass, None,
        ADMIN_ROLES, writes=True, denied="run the worker"),
    _op("send_reminders", "admin", "Remind every open case due by the next working day.", NoParams,
        list[Reminder], None, ADMIN_ROLES, writes=True, denied="run the worker"),
    _op("verify_audit", "admin", "Check the audit trail (and a signed checkpoint).", VerifyAuditParams,
        AuditVerification, ("GET", "/api/audit/verify"), AUDIT_ROLES,
        denied="verify the audit trail"),
    _op("audit_checkpoint", "admin", "Write signed heads of every case to a file.", CheckpointParams,
        AuditCheckpoint, None, ADMIN_ROLES, denied="take audit checkpoints"),
    _op("audit_keygen", "admin", "A new Ed25519 key pair for checkpoints (no database).", PathParams, KeyPair),
    _op("import_calendar", "admin", "Import a year's holidays and move open cases' due dates.", PathParams,
        CalendarImport, None, ADMIN_ROLES, writes=True, denied="import holiday calendars"),
    # logins (engine.auth)
    _op("set_password", "admin", "Set a user's password (one's own; an admin anyone's); their logins end.",
        SetPasswordParams, PasswordSet, ("POST", "/api/users/{name}/password"), writes=True),
    _op("revoke_user", "admin", "End every login of a user.", UserParams, Revoked,
        ("POST", "/api/users/{name}/revoke"), ADMIN_ROLES, writes=True, denied="revoke logins"),
    _op("login", "admin", "A bearer token for a user name and password.", LoginParams, TokenRecord,
        ("POST", "/api/login"), writes=True),
    _op("token_user", "admin", "The user a bearer token belongs to (the HTTP adapter's own check).",
        TokenParams, str),
    _op("logout", "admin", "End the login of a bearer token.", TokenParams, LoggedOut, ("POST", "/api/logout"),
        writes=True),
    # mining
    _op("export_log", "mining", "Write the event log as XES, OCEL 2.0 or CSV.", ExportParams, ExportRecord),
    _op("conformance", "mining", "Replay cases on their model and check the promises.", ConformanceParams,
        ConformanceRecord, ("GET", "/api/conformance"), served_roles=AUDIT_ROLES, denied="check conformance"),
    _op("simulate", "mining", "Simulate a model calibrated from measured cases.", SimulateParams,
        SimulationRecord, ("POST", "/api/simulate"), served_roles=AUDIT_ROLES, denied="run simulations"),
    _op("report_mining", "mining", "The HTML report's mining sections.", ReportMiningParams, MiningReport),
    _op("demo_simulations", "mining", "The demo's calibration checks and what-ifs.", DemoSimulationsParams,
        list[SimulationRecord]),
]}

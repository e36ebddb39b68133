"""Designer scenarios: validate and upload models, errors, versions."""
import shutil

from pytest_bdd import given, parsers, scenarios, then, when

from conftest import REPO, model_path

scenarios("designer.feature")

SAMPLE = "residence_permit.bpmn"
CHANGES = {
    "the gateway has no default flow": (' default="Flow_OK"', ""),
    "the condition calls a Java method": (">returned<", ">${execution.getVariable('returned')}<"),
    "the process is not executable": ('isExecutable="true"', 'isExecutable="false"'),
    "the file is cut off": ("</bpmn:definitions>", ""),
    "the file is an HTML page": (None, "<html><body>居住证</body></html>"),
}


@when(parsers.parse('"{user}" validates "{model}"'))
def validate(world, user, model):
    world.run(["process", "validate", str(model_path(model))], user=user)


@when(parsers.parse('"{user}" uploads a copy of "{model}" with promised {days:d} working days as "{label}"'))
def upload_changed_copy(world, user, model, days, label):
    text = model_path(model).read_text(encoding="utf-8")
    path = world.tmp / f"changed-{model}"
    path.write_text(text.replace('name="promised_workdays" value="7"', f'name="promised_workdays" value="{days}"'),
                    encoding="utf-8")
    world.run(["process", "upload", str(path), "--label", label], user=user)


@when(parsers.parse('"{user}" uploads the sample changed so that {change} as "{label}"'))
def upload_broken(world, user, change, label):
    old, new = CHANGES[change]
    text = model_path(SAMPLE).read_text(encoding="utf-8")
    path = world.tmp / "broken.bpmn"
    path.write_text(new if old is None else text.replace(old, new, 1), encoding="utf-8")
    world.run(["process", "upload", str(path), "--label", label], user=user)


@then(parsers.parse('the matter "{code}" has the versions "{labels}"'))
def matter_versions(world, code, labels):
    versions = world.cli.json(["process", "list", "--matter", code])
    assert [v["label"] for v in versions] == [l.strip() for l in labels.split(",")]


@then("no process version is stored")
def no_versions(world):
    assert world.cli.json("process list") == []


@given(parsers.parse('a catalog whose manifest gives a statutory limit of {days:d} working days "{basis}"'))
def catalog_without_basis(world, days, basis):
    root = world.tmp / "mycatalog"
    (root / "processes").mkdir(parents=True)
    shutil.copytree(REPO / "bpmn", root / "bpmn")
    text = (REPO / "processes" / "XSELH.toml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("time_limit_note")]
    at = next(i for i, line in enumerate(lines) if line.startswith("promised_workdays"))
    lines[at:at] = [f"statutory_workdays = {days}", f'statutory_basis = "{basis}"']
    (root / "processes" / "XSELH.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    world.catalog = root / "processes"


@when(parsers.parse('"{user}" loads that catalog'))
def load_catalog(world, user):
    world.run(["catalog", "load", str(world.catalog)], user=user)

"""Reformer scenarios: compare versions, read the totals, measured figures, CSV export."""
import json
import shutil

from pytest_bdd import given, parsers, scenarios, then, when

from onetrip_testing.bpmn_factory import Step, linear_model
from conftest import model_path

scenarios("reformer.feature")

WINDOW, POLICE = "政务服务中心综合窗口", "公安局"


@given("the residence permit matter re-engineered to 2 steps, 1 visit, 2 materials and 3 working days")
def two_folders(world):
    before, after = world.tmp / "before", world.tmp / "after"
    before.mkdir()
    after.mkdir()
    shutil.copy(model_path("residence_permit.bpmn"), before / "JZZSAMPLE.bpmn")
    # The applicant applies online (not a counter step: step=false); review and issuing merge; one trip.
    steps = [Step("网上申请即受理", WINDOW, materials=["id_card", "photo"], workdays=1, step=False),
             Step("审核制证", POLICE, workdays=2),
             Step("领证", WINDOW, onsite=True)]
    model = linear_model("JZZSAMPLE", "居住证办理", steps, statutory=15, promised=3, label="after")
    (after / "JZZSAMPLE.bpmn").write_text(model, encoding="utf-8")
    world.before, world.after = before, after


@when(parsers.parse('"{user}" compares the before and after folders'))
def compare_folders(world, user):
    world.run(["compare", str(world.before), str(world.after)], user=user)


@when(parsers.parse('"{user}" compares an empty folder with the after folder'))
def compare_empty(world, user):
    empty = world.tmp / "empty"
    empty.mkdir()
    world.run(["compare", str(empty), str(world.after)], user=user)


@given(parsers.parse('a designer "{name}" has uploaded both versions'))
def upload_both(world, name):
    world.cli.ok(["user", "add", name, "--role", "designer"])
    world.cli.ok(["process", "upload", str(world.before / "JZZSAMPLE.bpmn"), "--label", "before"], user=name)
    world.cli.ok(["process", "upload", str(world.after / "JZZSAMPLE.bpmn"), "--label", "after"], user=name)


@given("one case of each version has been carried to completion over 2 March 2026")
def run_cases(world):
    lane_user = {WINDOW: "王窗口", POLICE: "赵警官"}
    for label, day in (("before", 2), ("after", 3)):
        case = world.cli.json(["case", "start", "JZZSAMPLE", "--label", label], user="王窗口",
                              now="2026-03-02T09:00")["id"]
        for hour in range(10, 20):
            tasks = world.cli.json(["task", "list", "--all", "--case", str(case)])
            if not tasks:
                break
            t = tasks[0]
            at = f"2026-03-{day + (hour - 10) if label == 'before' else day:02d}T{hour}:00"
            world.cli.ok(["task", "complete", t["id"]], user=lane_user[t["lane"]], now=at)
        else:
            raise AssertionError(f"the {label} case still has tasks after ten steps")
        assert world.cli.json(["case", "show", str(case)])["status"] == "completed"


@when(parsers.parse('"{user}" compares the stored versions as JSON'))
def compare_stored(world, user):
    world.run(["compare", "--stored", "--format", "json"], user=user)
    assert world.result.exit_code == 0, world.result.stderr
    world.comparison = json.loads(world.result.stdout)


@then(parsers.parse('the matter "{code}" shows measured cases for "{a}" and "{b}"'))
def shows_measured(world, code, a, b):
    [m] = [m for m in world.comparison["matters"] if m["matter_code"] == code]
    assert m["measured"][a]["cases"] == 1 and m["measured"][b]["cases"] == 1
    assert m["before"]["steps"] == 4 and m["after"]["steps"] == 2
    world.matter = m


@then(parsers.parse('the measured median working days are {after:g} after and {before:g} before'))
def medians(world, after, before):
    measured = world.matter["measured"]
    assert (measured["after"]["median_workdays"], measured["before"]["median_workdays"]) == (after, before)


@when(parsers.parse('"{user}" exports the comparison as CSV to "{name}"'))
def export_csv(world, user, name):
    world.run(["compare", str(world.before), str(world.after), "--format", "csv", "-o", str(world.tmp / name)],
              user=user)


@then(parsers.parse('the file "{name}" starts with a UTF-8 byte order mark and lists "{code}"'))
def csv_file(world, name, code):
    raw = (world.tmp / name).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and code.encode() in raw and "居住证办理".encode() in raw


@given("a second matter for which no law sets a time limit, re-engineered to 即办")
def matter_without_limit(world):
    before = [Step("窗口受理", WINDOW, materials=["id_card"], workdays=1, onsite=True),
              Step("审批", POLICE, workdays=2)]
    after = [Step("网上申请即办", WINDOW, materials=["id_card"], workdays=0)]
    for folder, steps, label in ((world.before, before, "before"), (world.after, after, "after")):
        model = linear_model("NOLIMIT", "无法定时限的事项", steps, label=label)
        (folder / "NOLIMIT.bpmn").write_text(model, encoding="utf-8")


def _csv_rows(world, name):
    import csv
    import io
    return list(csv.reader(io.StringIO((world.tmp / name).read_text(encoding="utf-8-sig"))))


@then(parsers.parse('the file "{name}" has the columns "{columns}"'))
def csv_columns(world, name, columns):
    header = _csv_rows(world, name)[0]
    assert all(c.strip() in header for c in columns.split(",")), header


@then(parsers.parse('the file "{name}" gives the steps reduction of "{code}" as "{value}"'))
def csv_reduction(world, name, code, value):
    header, *rows = _csv_rows(world, name)
    row = next(r for r in rows if r[0] == code)
    assert row[header.index("环节精简率")] == value


@given("the before and after models side by side in one folder")
def one_folder(world):
    both = world.tmp / "both"
    both.mkdir()
    shutil.copy(world.before / "JZZSAMPLE.bpmn", both / "JZZSAMPLE.before.bpmn")
    shutil.copy(world.after / "JZZSAMPLE.bpmn", both / "JZZSAMPLE.after.bpmn")
    world.both = both


@when(parsers.parse('"{user}" compares that folder'))
def compare_one_folder(world, user):
    world.run(["compare", str(world.both)], user=user)

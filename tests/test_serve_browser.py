"""A real browser (Debian's chromium through chromedriver) at `onetrip serve`: a clerk completes a task
and sees it leave the list; a reformer sees the dashboard's charts; Chinese text renders as glyphs."""
from __future__ import annotations

import os
import shutil

import pytest

from onetrip_testing.serve import PASSWORD, SAMPLE, make_office, serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                 reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
                                        "chromium-driver fonts-noto-cjk; .ci/run installs them)")]

#: Distinct CJK characters drawn in the page's own font must differ, and differ from an unassigned code
#: point's box: with no CJK font they are all the same empty box (tofu).
GLYPH_CHECK = r"""
function shot(text, font){var c=document.createElement('canvas');c.width=120;c.height=40;
  var g=c.getContext('2d');g.font='28px '+font;g.fillStyle='#000';g.fillText(text,4,32);return c.toDataURL();}
var stack=getComputedStyle(document.body).fontFamily;
var glyphs=['待','办','结','改'].map(function(t){return shot(t,stack);});
return {cjk: new Set(glyphs).size===glyphs.length && glyphs[0]!==shot('\u0378',stack), font: stack};
"""


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'onetrip.db'}"
    cli = make_office(url)
    cli.ok(f"process upload {SAMPLE} --label before", user="李设计")
    case = cli.json("case start JZZSAMPLE --data 申请人=张三", user="王窗口")["id"]
    first = cli.json(f"case start JZZSAMPLE --data 申请人=李四", user="王窗口")["id"]
    for ref in [t["id"] for t in cli.json(f"task list --all --case {first}")]:     # one case done: a distribution
        cli.ok(f"task complete {ref}", user="王窗口")
    for name in ("赵警官", "赵警官", "王窗口"):
        for ref in [t["id"] for t in cli.json(f"task list --all --case {first}")]:
            cli.ok(f"task complete {ref}", user=name)
    with serve(url, tmp) as server:
        yield server, cli, case


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    os.environ.setdefault("SE_OFFLINE", "true")        # Selenium Manager must never download a browser
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--window-size=1280,1000",
                f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver, url, name):
    from selenium.webdriver.common.by import By
    driver.get(url + "/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login").click()
    assert driver.find_element(By.ID, "who").text == name


def test_a_clerk_completes_a_task_in_the_browser(office, browser, tmp_path):
    from selenium.webdriver.common.by import By
    server, cli, case = office
    log_in(browser, server.url, "王窗口")
    ref = next(t["id"] for t in cli.json(f"task list --all --case {case}"))
    rows = browser.find_elements(By.CSS_SELECTOR, f'#tasks tr[data-ref="{ref}"]')
    assert rows and "受理" in rows[0].text
    glyphs = browser.execute_script(GLYPH_CHECK)
    assert glyphs["cjk"], f"Chinese text renders as empty boxes (fonts: {glyphs['font']}); install fonts-noto-cjk"
    browser.save_screenshot(str(tmp_path / "tasks.png"))
    rows[0].find_element(By.LINK_TEXT, ref).click()
    assert "id_card" in browser.find_element(By.ID, "materials").text
    keys = browser.find_elements(By.NAME, "key")
    values = browser.find_elements(By.NAME, "value")
    keys[0].send_keys("核验结果")
    values[0].send_keys("材料齐全")
    assert browser.find_element(By.ID, "onsite").is_selected()      # the step's onsite annotation
    browser.find_element(By.ID, "complete").click()
    assert ref in browser.find_element(By.ID, "done").text
    assert not browser.find_elements(By.CSS_SELECTOR, f'#tasks tr[data-ref="{ref}"]')
    event = [e for e in cli.json(f"case show {case}")["events"] if e["task"]][-1]
    assert (event["actor"], event["data"]["核验结果"], event["onsite"]) == ("王窗口", "材料齐全", True)


def test_a_reformer_sees_the_dashboard_charts(office, browser, tmp_path):
    from selenium.webdriver.common.by import By
    server, _, _ = office
    log_in(browser, server.url, "钱改革")
    assert browser.current_url.endswith("/dashboard")
    bars = [b for b in browser.find_elements(By.CSS_SELECTOR, "figure.chart .bar") if b.size["width"] > 0]
    assert len(bars) >= 8, "before and after bars of the four charts"
    for details in browser.find_elements(By.TAG_NAME, "details"):
        details.find_element(By.TAG_NAME, "summary").click()
    svgs = browser.find_elements(By.CSS_SELECTOR, "svg.bpmn")
    assert len(svgs) >= 2 and all(s.size["width"] > 100 and s.size["height"] > 50 for s in svgs)
    assert all(len(s.find_elements(By.TAG_NAME, "text")) > 3 for s in svgs)
    assert browser.find_elements(By.CSS_SELECTOR, "figure.hist .hb.after"), "the measured distribution"
    assert browser.execute_script("return document.body.getAttribute('data-ready')") == "1", \
        "the report's script ran (served from /static, allowed by the CSP)"
    glyphs = browser.execute_script(GLYPH_CHECK)
    assert glyphs["cjk"] and "Noto Sans CJK SC" in glyphs["font"]
    browser.save_screenshot(str(tmp_path / "dashboard.png"))

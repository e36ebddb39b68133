Feature: Reformers compare matters before and after re-engineering
  As a reformer (改革办) I compare the before and after models of each matter
  and of the whole catalog in the city's own terms (四减一优), statically from
  the models and as measured from the cases clerks actually ran.

  Background:
    Given a fresh onetrip database
    And a reformer "陈改革"
    And the residence permit matter re-engineered to 2 steps, 1 visit, 2 materials and 3 working days

  Scenario: Compare two versions of a matter from their BPMN files
    When "陈改革" compares the before and after folders
    Then the command succeeds
    And the output says "环节 4 → 2 (精简 50.0%)"
    And the output says "材料 3 → 2 (精简 33.3%)"
    And the output says "跑动 2 → 1 (减少 50.0%)"
    And the output says "承诺时限比法定时限压缩 80.0%"

  Scenario: Measured figures appear beside the static ones once cases have run
    Given a designer "李设计" has uploaded both versions
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And a clerk "赵警官" of "公安局"
    And one case of each version has been carried to completion over 2 March 2026
    When "陈改革" compares the stored versions as JSON
    Then the matter "JZZSAMPLE" shows measured cases for "before" and "after"
    And the measured median working days are 1 after and 3 before

  Scenario: Export the comparison for Excel
    When "陈改革" exports the comparison as CSV to "对比.csv"
    Then the file "对比.csv" starts with a UTF-8 byte order mark and lists "JZZSAMPLE"

  Scenario: A folder with no models is refused
    When "陈改革" compares an empty folder with the after folder
    Then the command fails with "no .bpmn files in this directory"

  Scenario: Time limits are compared with the law only where a law sets one
    Given a second matter for which no law sets a time limit, re-engineered to 即办
    When "陈改革" compares the before and after folders
    Then the command succeeds
    And the output says "承诺时限比法定时限压缩 80.0%（1 个有法定时限的事项；1 个无法定时限，未计）"

  Scenario: The export for Excel speaks the reformer's language
    When "陈改革" exports the comparison as CSV to "对比.csv"
    Then the file "对比.csv" has the columns "事项编码, 事项名称, 环节(改革前), 环节(改革后), 环节精简率"
    And the file "对比.csv" gives the steps reduction of "JZZSAMPLE" as "50.0%"

  Scenario: One folder holding the before and after models is both sides
    Given the before and after models side by side in one folder
    When "陈改革" compares that folder
    Then the command succeeds
    And the output says "环节 4 → 2 (精简 50.0%)"

Feature: Reformers mine the cases: event logs, kept promises and what-if before rollout
  As a reformer (改革办) I want the cases clerks actually handled as an event
  log my process-mining tools read, to know which cases broke the reform's
  promise (最多跑一次, the promised working days), and to see what a redesign
  would do to our real caseload before we roll it out.

  Background:
    Given a fresh onetrip database
    And a reformer "陈改革"

  Scenario: Hand the event log to a process-mining tool
    Given 食品经营许可 has 12 handled cases of each version
    When "陈改革" exports the event log as XES to "cases.xes"
    Then the command succeeds
    And the file "cases.xes" opens in PM4Py with every handled case and step

  Scenario: Hand the log to an object-centric tool, with materials and departments
    Given 食品经营许可 has 12 handled cases of each version
    When "陈改革" exports the event log as OCEL to "cases.json"
    Then the command succeeds
    And the file "cases.json" holds cases, materials and departments as objects

  Scenario: See which cases broke the promise
    Given the residence permit matter is in use
    And one case went as the model says
    And in one case the applicant had to come in for the review too
    When "陈改革" checks conformance
    Then the command succeeds
    And the output says "50.0%"
    And the output says "3 trips; the model promises at most 2"

  Scenario: The share of cases that kept the promise, beside the measured figures
    Given the residence permit matter is in use
    And one case went as the model says
    And in one case the applicant had to come in for the review too
    When "陈改革" compares the stored versions with their measured figures, twice
    Then the command succeeds
    And both answers give 50.0% of the before cases as conforming, the second from stored results

  Scenario: Predict the redesign from the cases handled before it
    Given 食品经营许可 has 40 handled cases of the before version
    When "陈改革" simulates the after model of "SPJYXK" calibrated from the before cases
    Then the command succeeds
    And the output says "after model"
    And the output says "calibrated from 40 measured before cases"
    And the output says "预测"
    And the predicted median working days are below the measured ones

  Scenario: A matter that does not exist
    When "陈改革" simulates the after model of "NOPE" calibrated from the before cases
    Then the command fails with "no matter NOPE"

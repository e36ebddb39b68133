Feature: Process designers upload the before and after models of a matter
  As a process designer (流程设计人员) I draw each matter in any BPMN modeler
  and upload it as the "before" or "after" version; onetrip refuses a model
  that would not run as drawn, with one line naming the file, line and element.

  Background:
    Given a fresh onetrip database
    And a designer "李设计"

  Scenario: A model drawn in Camunda Modeler validates
    When "李设计" validates "residence_permit.bpmn"
    Then the command succeeds
    And the output says "ok (Process_JZZ_sample, matter JZZSAMPLE)"

  Scenario: Before and after versions of one matter
    When "李设计" uploads "residence_permit.bpmn" as "before"
    And "李设计" uploads a copy of "residence_permit.bpmn" with promised 5 working days as "after"
    Then the matter "JZZSAMPLE" has the versions "before, after"

  Scenario: Uploading the same model again keeps one version
    When "李设计" uploads "residence_permit.bpmn" as "after"
    And "李设计" uploads "residence_permit.bpmn" as "after"
    Then the command succeeds
    And the output says "already uploaded"
    And the matter "JZZSAMPLE" has the versions "after"

  Scenario Outline: A broken model is refused with one clear line, and nothing is stored
    When "李设计" uploads the sample changed so that <change> as "after"
    Then the command fails with "<message>"
    And no process version is stored

    Examples:
      | change                                  | message                                                         |
      | the gateway has no default flow         | :103: Flow_OK: flow out of gateway 'Gateway_Review' has no condition |
      | the condition calls a Java method       | :104: Flow_Return: conditionExpression "${execution.getVariable('returned')}": a method call (.getVariable(...)) is outside the JUEL subset onetrip translates; write the condition as a Python expression over the task data |
      | the process is not executable           | :6: Process_JZZ_sample: process is not executable                 |
      | the file is cut off                     | not well-formed XML                                              |
      | the file is an HTML page                | not a BPMN 2.0 file: root element is <html>                      |

  Scenario: Only designers and admins upload
    Given a clerk "王窗口" of "政务服务中心综合窗口"
    When "王窗口" uploads "residence_permit.bpmn" as "after"
    Then the command fails with "王窗口 is a clerk; only designers or admins may upload process models"

  Scenario: A catalog manifest whose statutory limit cites no law is refused
    Given a catalog whose manifest gives a statutory limit of 15 working days "依惯例"
    When "李设计" loads that catalog
    Then the command fails with "statutory_workdays needs a statutory_basis"

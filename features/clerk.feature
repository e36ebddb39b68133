Feature: Clerks advance cases in their own department's lane
  As a clerk (窗口/审批人员) I see the ready tasks of my department, complete
  them with data, return a file for correction, and record whether the
  applicant came in person; the case history shows every step.

  Background:
    Given a fresh onetrip database
    And a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And a clerk "赵警官" of "公安局"

  Scenario: A clerk sees only the tasks of their own department
    When "王窗口" starts a case of "JZZSAMPLE" with "applicant=张三"
    Then "王窗口" sees the tasks "受理"
    And "赵警官" sees no tasks

  Scenario: A clerk cannot act on another department's task
    Given "王窗口" has started a case of "JZZSAMPLE"
    And "王窗口" has completed "受理"
    When "王窗口" completes "审核"
    Then the command fails with "(审核) belongs to 公安局; 王窗口 works for 政务服务中心综合窗口"

  Scenario: A file returned for correction comes back, and the case completes
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" completes "受理" with "checked=true"
    And "赵警官" returns "审核" because "缺少居住证明"
    And "王窗口" completes "补正材料"
    And "赵警官" completes "审核" with "opinion=同意"
    And "赵警官" completes "制证"
    And "王窗口" completes "领证"
    Then the case is completed
    And the case history lists, with actor and time:
      | step     | actor  | action   |
      | 受理     | 王窗口 | complete |
      | 审核     | 赵警官 | return   |
      | 补正材料 | 王窗口 | complete |
      | 审核     | 赵警官 | complete |
      | 制证     | 赵警官 | complete |
      | 领证     | 王窗口 | complete |

  Scenario: A task cannot be completed twice
    Given "王窗口" has started a case of "JZZSAMPLE"
    And "王窗口" has completed "受理"
    When "王窗口" completes the same task again
    Then the command fails with "was already completed by 王窗口"

  Scenario: Bad data is refused and nothing changes
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" completes "受理" with "=oops"
    Then the command fails with "bad --data key ''"
    And "王窗口" sees the tasks "受理"

  Scenario: A step the model cannot send back is not returned, and nothing is counted
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" tries to return "受理" because "缺少材料"
    Then the command fails with "(受理) cannot be returned for correction: the model has no correction loop"
    And "王窗口" sees the tasks "受理"
    And the case has no returns

  Scenario: A mistyped matter code gets a suggestion
    When "王窗口" tries to start a case of "jzzsampel"
    Then the command fails with "no matter jzzsampel: did you mean JZZSAMPLE?"

  Scenario: A clerk whose department no model has is warned at once
    When a clerk "钱窗口" of "综合窗口" is added
    Then the command succeeds
    And it warns "no uploaded model has a lane named '综合窗口', so 钱窗口 will see no tasks"
    And it warns "lanes: 公安局、政务服务中心综合窗口"

  Scenario: The history says whether the applicant came in person, and who said so
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" completes "受理" online, though the model expects the applicant in person
    Then the case history shows "受理" as "网上 (经办人标记)"

  Scenario: Text stays text; a JSON value only when asked with :=
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" completes "受理" with "电话=013800138000"
    Then the command succeeds
    And the last step recorded "电话" as the text "013800138000"
    When "赵警官" completes "审核" with "份数:=2"
    Then the last step recorded "份数" as the number 2

  Scenario: Data that would break the case is refused and nothing changes
    Given "王窗口" has started a case of "JZZSAMPLE"
    When "王窗口" completes "受理" with "材料:=[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
    Then the command fails with "--data 材料: nested deeper than 32 levels"
    When "王窗口" completes "受理" with "len=0"
    Then the command fails with "'len' is the name of a helper conditions and scripts use"
    And "王窗口" sees the tasks "受理"

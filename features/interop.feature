Feature: Models drawn for other engines run as they are drawn
  As a process designer I draw in Camunda Modeler or in a Flowable/Activiti
  derived tool, and upload the file as it comes out: JUEL conditions such as
  ${amount > 1000 && level == 'A'} and literal timers such as PT10M work
  without editing the XML, and onetrip shows how it reads them.

  Background:
    Given a fresh onetrip database
    And an administrator "管理员"
    And a designer "李设计"
    And a clerk "王窗口" of "综合窗口"

  Scenario: A Flowable model with ${...} conditions runs end to end
    When "李设计" uploads the interop model "flowable_business_licence.bpmn20.xml" as "after" for the matter "FLOWLIC"
    Then the command succeeds
    When "李设计" shows the latest version
    Then the output says "translated toDirector conditionExpression: ${amount > 1000 && level == 'A'}  →  (float(amount) > 1000) and (level == 'A')"
    And the output says "translated toRefusal conditionExpression: #{!approved}  →  str(approved).lower() != 'true'"
    When "王窗口" starts a case of "FLOWLIC" with the data "amount=5000 level=A"
    And "王窗口" completes "受理"
    Then "王窗口" sees the tasks "局长审批"
    When "王窗口" completes "局长审批" with "approved=true"
    And "王窗口" completes "发照"
    Then the case is completed

  Scenario: The other branch of the same Flowable model
    Given "李设计" uploads the interop model "flowable_business_licence.bpmn20.xml" as "after" for the matter "FLOWLIC"
    When "王窗口" starts a case of "FLOWLIC" with the data "amount=800 level=A"
    And "王窗口" completes "受理"
    Then "王窗口" sees the tasks "科长审批"
    When "王窗口" completes "科长审批" with "approved=false"
    Then "王窗口" sees the tasks "告知不予登记"

  Scenario: A Camunda model with a literal PT10M timer waits ten minutes
    When "李设计" validates the interop model "camunda_publicity.bpmn"
    Then the output says "ok (Process_Publicity, matter CAMPUB)"
    When "李设计" uploads the interop model "camunda_publicity.bpmn" as "after" for the matter "CAMPUB"
    And "王窗口" accepts a case of "CAMPUB" on "2026-03-02T09:00"
    And "王窗口" completes "受理" at "2026-03-02T09:01"
    And the worker runs at "2026-03-02T09:05"
    Then "王窗口" sees no tasks
    When the worker runs at "2026-03-02T09:12"
    Then "王窗口" sees the tasks "审核"
    When "王窗口" completes "审核" at "2026-03-02T09:20"
    Then the case is completed

  Scenario: A JUEL expression outside the translated subset is refused with the fix
    When "李设计" uploads the interop model "flowable_business_licence.bpmn20.xml" changed from "${approved}" to "${execution.getVariable('approved')}"
    Then the command fails with "toIssue: conditionExpression "${execution.getVariable('approved')}": a method call (.getVariable(...)) is outside the JUEL subset onetrip translates; write the condition as a Python expression over the task data"

  Scenario: A model in two files is uploaded as one version
    When "李设计" uploads the interop models "main_with_call.bpmn, shared_check.bpmn" as "after" for the matter "LIC2"
    And "李设计" shows the latest version
    Then the output says "calls SharedCheck: bound to shared_check.bpmn of this upload"
    When "王窗口" starts a case of "LIC2" with the data "applicant=张三"
    And "王窗口" completes "受理"
    Then "王窗口" sees the tasks "核验证照"
    When "王窗口" completes "核验证照"
    And "王窗口" completes "决定"
    Then the case is completed

  Scenario: A called process already stored is bound to its current version
    Given "李设计" uploads the interop model "shared_check.bpmn" as "after" for the matter "CHECK"
    When "李设计" uploads the interop model "main_with_call.bpmn" as "after" for the matter "LIC1"
    And "李设计" shows the latest version
    Then the output says "calls SharedCheck: bound to stored version 1 (CHECK after, shared_check.bpmn)"

  Scenario: In a collaboration of two pools the designer says which process runs
    When "李设计" validates the interop model "two_pools.bpmn"
    Then the command fails with "several processes (Applicant, Office): choose the one to run with --process ID"
    When "李设计" validates the interop model "two_pools.bpmn" with "--process Office"
    Then the output says "ok (Office)"
    When "李设计" analyzes the interop model "two_pools.bpmn"
    Then the output says "申请人 (Applicant)"
    And the output says "窗口 (Office)"

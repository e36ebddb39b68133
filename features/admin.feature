Feature: Administrators keep the office running
  As an administrator (管理员) I manage who may do what, keep the working-day
  calendar current, let the worker fire timers and reminders, and check that
  nobody has altered a case file behind the application's back.

  Background:
    Given a fresh onetrip database
    And an administrator "管理员"

  Scenario: Once an administrator exists, only administrators add users
    When "管理员" adds the clerk "王窗口" of "政务服务中心综合窗口"
    Then the command succeeds
    When "王窗口" adds the clerk "李四" of "公安局"
    Then the command fails with "王窗口 is a clerk; only admins may add users"

  Scenario: A holiday notice for a year the official calendar does not know yet
    Given a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    When "王窗口" accepts a case of "JZZSAMPLE" on "2026-12-28T09:00"
    Then the case is due on "2027-01-06"
    When "管理员" imports the 2027 notice with 1 January as a holiday
    And "王窗口" accepts a case of "JZZSAMPLE" on "2026-12-28T09:00"
    Then the case is due on "2027-01-07"

  Scenario: The worker escalates a review left waiting too long
    Given a designer "李设计"
    And "李设计" has uploaded "timers.bpmn" as "after"
    And a clerk "王窗口" of "综合窗口"
    And a clerk "督查员" of "督查室"
    When "王窗口" accepts a case of "TIMERS" on "2026-03-02T09:00"
    And the worker runs at "2026-03-02T10:30"
    Then "王窗口" sees the tasks "审核"
    When the worker runs at "2026-03-03T11:00"
    Then "督查员" sees the tasks "督办"
    And "王窗口" sees no tasks

  Scenario: An event altered directly in the database is found
    Given a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And "王窗口" accepts a case of "JZZSAMPLE" on "2026-03-02T09:00"
    When someone changes the actor of the case's first event in the database
    And "管理员" verifies the audit trail
    Then the command fails with "case 1 event 1: content changed after it was recorded"

  Scenario: A history rewritten with its hashes recomputed is found against a checkpoint kept elsewhere
    Given a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And "王窗口" accepts a case of "JZZSAMPLE" on "2026-03-02T09:00"
    And an audit signing key kept away from the database
    When "管理员" takes an audit checkpoint
    Then the command succeeds
    When someone changes who accepted the case and recomputes the audit trail's hashes in the database
    And "管理员" verifies the audit trail
    Then the command succeeds
    When "管理员" verifies the audit trail against the checkpoint
    Then the command fails with "case 1 event 1: rewritten since the checkpoint"

  Scenario: A task moved to another department in the database is found
    Given a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And "王窗口" accepts a case of "JZZSAMPLE" on "2026-03-02T09:00"
    When someone moves the case's ready task to "公安局" in the database
    And "管理员" verifies the audit trail
    Then the command fails with "(受理, lane 公安局) was changed after event 1 wrote it"

  Scenario: A case whose timer keeps failing is quarantined, shown with the reason, and released
    Given a designer "李设计"
    And "李设计" has uploaded "failing_timer.bpmn" as "after"
    And "李设计" has uploaded "timers.bpmn" as "after"
    And a clerk "王窗口" of "综合窗口"
    And "王窗口" accepts a case of "FAILTIMER" on "2026-03-02T08:00"
    And "王窗口" accepts a case of "TIMERS" on "2026-03-02T08:00"
    When the worker runs at "2026-03-02T10:30"
    Then the worker reports "case 1 failed (will retry): Notify: script: ZeroDivisionError"
    And "王窗口" sees the tasks "审核"
    When the worker runs at "2026-03-02T10:31"
    And the worker runs at "2026-03-02T10:32"
    Then the worker reports "case 1 failed (quarantined)"
    And case 1 is listed as "quarantine"
    And case 1 shows "QUARANTINED by the worker" and "case release 1"
    When "管理员" releases case 1 at "2026-03-02T11:00"
    Then the command succeeds
    And case 1 is listed as "open"

  Scenario: An administrator cancels a case
    Given a designer "李设计"
    And "李设计" has uploaded "residence_permit.bpmn" as "after"
    And a clerk "王窗口" of "政务服务中心综合窗口"
    And "王窗口" accepts a case of "JZZSAMPLE" on "2026-03-02T09:00"
    When "王窗口" cancels case 1 because "申请人撤回申请" at "2026-03-02T10:00"
    Then the command fails with "王窗口 is a clerk; only admins may cancel cases"
    When "管理员" cancels case 1 because "申请人撤回申请" at "2026-03-02T10:00"
    Then the command succeeds
    And case 1 is listed as "cancelled"
    And "王窗口" sees no tasks

  Scenario: An administrator sets a clerk's login password; only the clerk and administrators may change it
    Given a clerk "王窗口" of "政务服务中心综合窗口"
    And a clerk "赵警官" of "公安局"
    When "管理员" sets the password of "王窗口" to "窗口的登录口令一号"
    Then the command succeeds
    And "王窗口" logs in with "窗口的登录口令一号"
    And "王窗口" cannot log in with "窗口的登录口令二号"
    When "赵警官" sets the password of "王窗口" to "警官想要的登录口令"
    Then the command fails with "赵警官 may set only their own password; an admin sets others'"
    When "王窗口" sets the password of "王窗口" to "短口令"
    Then the command fails with "password too short: use at least 8 characters"
    When "王窗口" sets the password of "王窗口" to "窗口自己的新登录口令"
    Then the command succeeds
    And "王窗口" logs in with "窗口自己的新登录口令"
    And "王窗口" cannot log in with "窗口的登录口令一号"

Feature: The office's server: every role logs in and works through the API
  As a clerk, a designer or a reformer I log in to `onetrip serve` with my name and
  password and do my work over HTTP; the server decides who I am, what my role
  allows and which department's tasks I may touch.

  Background:
    Given the sample office is served

  Scenario: Nobody gets anything without logging in
    Then every API route but logging in answers 401 without a token

  Scenario: A clerk completes a task of their department and it moves on
    Given "王窗口" has logged in
    And "赵警官" has logged in
    When "王窗口" starts a case of "JZZSAMPLE" with "申请人=张三"
    Then "王窗口" sees the task "受理" of the case
    When "王窗口" completes "受理" with "核验=通过"
    Then "王窗口" no longer sees the task "受理" of the case
    And "赵警官" sees the task "审核" of the case

  Scenario: A clerk cannot act on another department's task
    Given "王窗口" has logged in
    And "赵警官" has logged in
    When "王窗口" starts a case of "JZZSAMPLE" with "申请人=李四"
    And "赵警官" completes "受理" with "核验=通过"
    Then the answer is 403 saying "belongs to 政务服务中心综合窗口"

  Scenario: A designer uploads a model, and a broken one is refused with its problems
    Given "李设计" has logged in
    When "李设计" uploads "residence_permit.bpmn" as "before"
    Then the answer is 200
    When "李设计" uploads a file that is not BPMN
    Then the answer is 422

  Scenario: A reformer reads the comparison but starts no case
    Given "钱改革" has logged in
    When "钱改革" reads the stored comparison
    Then the answer is 200
    When "钱改革" starts a case of "JZZSAMPLE" with "申请人=王五"
    Then the answer is 403 saying "only clerks or admins"

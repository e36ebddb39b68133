Feature: Clerks work through the office's server with the remote CLI
  As a clerk I log in to the office's `onetrip serve` once; my commands then go
  through it as me, print what they print on the database itself, and cannot
  claim another identity, database or clock.

  Background:
    Given the sample office served by onetrip serve

  Scenario: A logged-in clerk works their department's tasks through the server
    When "王窗口" logs in to the server
    And "王窗口" starts a case of "JZZSAMPLE" through the server
    Then "王窗口" sees the tasks "受理" through the server
    When "王窗口" completes "受理" through the server
    And "赵警官" logs in to the server
    Then "赵警官" sees the tasks "审核" through the server
    And the case history says "王窗口" completed "受理"

  Scenario: Through the server a clerk is who they logged in as
    When "王窗口" logs in to the server
    And "王窗口" runs "--as 赵警官 task list" through the server
    Then the remote command fails with "--as is refused through a server"

  Scenario: After logging out, commands ask to log in again
    When "王窗口" logs in to the server
    And "王窗口" logs out
    And "王窗口" runs "task list" through the server
    Then the remote command fails with "not logged in"

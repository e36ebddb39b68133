"""The remote CLI's client: the service over HTTP (``onetrip_client.api``) and the saved logins
(``onetrip_client.logins``).

Neither imports SQLAlchemy or SpiffWorkflow; nothing is imported here, so reading the saved login
(as every ``onetrip`` command does) does not pay for httpx.
"""

"""The web edge: the WSGI application Slack and the host talk to, and the server that runs it."""

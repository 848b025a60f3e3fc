"""Delivery: the use cases' facts, turned into Slack messages by bot/messages and sent once each through the outbox.

The use cases in bot/services decide *what* is due (a digest, a follow-up, an introduction) and
return plain facts; this layer is the one place that joins those facts to a message builder and
to the outbox ledger, so the scheduler, the Slack listeners and the command line all send the
same message the same way. It knows the Messenger protocol, never slack_sdk itself.
"""

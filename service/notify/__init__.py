"""Notifications: what a new or published comment sends (events), the outbox that sends it
after the commit, SMTP delivery, signed webhooks, and the signed links in mail."""

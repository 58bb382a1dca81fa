"""Sites and pages, their settings (one rule set for the admin views and the command line),
moderator accounts, the audit log and the demo page."""

"""Notifications for new comments: mail to moderators and subscribers, webhooks.

Everything is queued in the outbox inside the posting transaction and sent
after the commit by a worker, so a post never waits for or fails on mail.
"""

from __future__ import annotations

from .models import Comment


def comment_posted(comment: Comment) -> None:
    """Queue the mail and webhook calls a new comment causes (caller commits)."""

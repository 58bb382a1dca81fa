"""Comments: the one write path (posting), authors' edits and deletions, threads,
moderation and its queue, policy, bans, the blocklist and likes."""

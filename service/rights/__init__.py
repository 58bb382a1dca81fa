"""Commenters' rights over their data: a mailed, signed, single-use link to download
everything stored about an email address or to erase it (``requests``, ``export``,
``erase``), and the retention of stored client addresses (``retention``).

The same functions serve the commenter's link, the owners' admin views and the command
line; docs/privacy.md lists every stored field and how long it is kept.
"""

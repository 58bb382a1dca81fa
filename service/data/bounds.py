"""Every bound and every closed set of values, defined once.

Models, validators, forms, the command line, the OpenAPI document and the templates
(as the ``bounds`` global) all read them from here, so a limit cannot differ between the
place that checks it and the place that shows it.
"""

from __future__ import annotations

# --- lengths (characters) -----------------------------------------------------------------
SITE_KEY_MAX = 64
SITE_NAME_MAX = 200
PAGE_KEY_MAX = 512
TITLE_MAX = 200
URL_MAX = 2048
NAME_MAX = 80
EMAIL_MAX = 254
WEBSITE_MAX = 512
TEXT_MAX = 10_000
LABEL_MAX = 80
SCHEMA_TYPE_MAX = 40
LANGUAGE_MAX = 16
REASON_MAX = 300
BAN_LABEL_MAX = 300  # what moderators see of a ban's value (an email, an address)
AUDIT_TARGET_MAX = 120
WORD_MAX = 100
VISITOR_KEY_MAX = 200
SEARCH_MAX = 200  # free-text filters of the admin views
RETURN_PATH_MAX = 512  # where a form sends its reader back to
PASSWORD_MIN = 10
PASSWORD_MAX = 512
API_TOKEN_LABEL_MAX = 80  # what an owner calls an API token
REPORT_REASON_MAX = 500  # a reader's reason for reporting a comment (moderators only)

# --- numbers ------------------------------------------------------------------------------
MAX_ID = 2**31 - 1  # ids a client may name (body, path, query): never an overflow
MAX_ORIGINS = 50  # allowed origins per site
LINK_LIMIT_MAX = 50  # the "links" policy's threshold
EDIT_WINDOW_MAX = 7 * 24 * 60 * 60  # seconds
MAX_COUNT_PAGES = 100  # page ids per counts request
COUNT_GET_PAGES = 20  # page ids per cacheable GET /api/v1/counts (more: the POST)
COUNT_GET_URL_MAX = 4000  # bytes of its path and query (gunicorn refuses lines over 4094)
PAGE_SIZE_MAX = 100  # comments per thread read
FEED_SIZE = 50  # entries of an Atom feed of comments
PINS_MAX = 3  # pinned comments per page, shown first
CLOSE_AFTER_DAYS_MAX = 3650  # comments close by themselves this many days after the first
REPORT_THRESHOLD_MAX = 100  # readers' reports that put a published comment back in the queue
REPORT_THRESHOLD_DEFAULT = 3

# --- closed sets --------------------------------------------------------------------------
STATUSES = ("pending", "approved", "spam", "deleted")
# Moderation policies, with what each does (as the admin views offer them).
MODERATION_POLICIES: dict[str, str] = {
    "none": "Publish at once",
    "first-time": "Hold first-time authors",
    "links": "Hold comments with many links",
    "all": "Hold every comment",
}
RATING_SCALES = (5, 10)
EDITORIAL_SCALES = (5, 10, 100)
EDITORIAL_DEFAULT_SCALE = 10
THEMES: dict[str, str] = {"auto": "Follow the reader's system", "light": "Light", "dark": "Dark"}
ROLES = ("owner", "moderator")
BAN_KINDS = ("email", "address", "visitor")
SORTS = ("oldest", "newest", "top")
OUTBOX_KINDS = ("mail", "webhook")
# What happens to a post that brings no form token, from a client that is not a browser and
# sends no API token (PARLEY_TOKENLESS_POSTS, and each site's setting that overrides it).
TOKENLESS_POSTS: dict[str, str] = {
    "moderate": "Hold them for moderation",
    "policy": "Apply the site's moderation policy",
    "refuse": "Refuse them",
}
# Comment systems an import reads (docs/imports.md), and an import job's states.
IMPORT_FORMATS: dict[str, str] = {
    "wordpress": "WordPress (WXR export)",
    "disqus": "Disqus (XML export)",
    "isso": "Isso (SQLite database)",
    "remark42": "Remark42 (backup file)",
    "commento": "Commento or Comentario (JSON export)",
}
IMPORT_STATES = ("queued", "validating", "importing", "done", "failed")
SOURCE_ID_MAX = 200  # characters of a comment's id in the system it is imported from
# What erasing a commenter's data does to their comments (each site's setting).
ERASURE_MODES: dict[str, str] = {
    "anonymize": "Anonymise them: the text stays, without a name or anything personal",
    "remove": "Remove them: a placeholder stays only where replies hang from one",
}
PRIVACY_KINDS = ("export", "erase")  # what a commenter's mailed link lets them do

# A language tag like en or pt-BR.
LANGUAGE_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$"
# A site key as it appears in embeds: data-site="...".
SITE_KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

# Types for which search engines show review stars from an AggregateRating. Never
# Article or BlogPosting, never from editorial scores.
REVIEW_STAR_TYPES = frozenset(
    {
        "Book",
        "Course",
        "CreativeWorkSeason",
        "CreativeWorkSeries",
        "Episode",
        "Event",
        "Game",
        "HowTo",
        "LocalBusiness",
        "MediaObject",
        "Movie",
        "MusicAlbum",
        "MusicPlaylist",
        "MusicRecording",
        "Organization",
        "Product",
        "Recipe",
        "SoftwareApplication",
        "MobileApplication",
        "WebApplication",
        "TVSeries",
        "TVSeason",
        "TVEpisode",
        "VideoGame",
    }
)
# The schema.org types a page may have: those with review stars, and common ones without.
SCHEMA_TYPES = tuple(sorted(REVIEW_STAR_TYPES | {"Article", "BlogPosting", "WebPage"}))


def sql_in(column: str, values: tuple[str, ...] | tuple[int, ...]) -> str:
    """A CHECK constraint's ``column IN (...)`` text for a closed set."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"

"""The OpenAPI 3.1 document served at /api/v1/openapi.json: the reference for the JSON API.

Limits come from the constants the validators use, so a request the document calls valid
is accepted. Where the service is more forgiving than JSON Schema can say (it trims
whitespace before counting, and accepts any visible Unicode character where a pattern
lists a common subset), the schema gives the strict form and the description says what
else is tolerated. Patterns are ECMA-262 regular expressions that read the same in Python.

The document is built once; ``openapi_document`` hands out a deep copy.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from .config import DEFAULTS
from .models import (
    EMAIL_MAX,
    NAME_MAX,
    PAGE_KEY_MAX,
    SITE_KEY_MAX,
    TEXT_MAX,
    TITLE_MAX,
    URL_MAX,
    WEBSITE_MAX,
)
from .threads import SORTS
from .validation import MAX_ID

Json = dict[str, Any]

# Characters Python's str.split()/str.strip() treat as whitespace: the service trims them.
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode category Cc
# Neither whitespace nor a control character.
SOLID = r"[^\x00- \x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NAME_CONTROL = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # control characters that are not spaces
TEXT_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # all but tab and line breaks
# Characters every reader sees: ASCII and Latin letters, digits and punctuation, Cyrillic,
# kana, CJK ideographs and Hangul. Any visible character counts; these surely do.
VISIBLE = (
    r"!-~\u00a1-\u00ac\u00ae-\u024f\u0400-\u0482\u048a-\u04ff"
    r"\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fa5\uac00-\ud7a3"
)
# An absolute http(s) URL without user info, or nothing.
WEBSITE = (
    r"^(?:https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,4})?(?:[/?#][!-~]*)?)?$"
)
ID: Json = {"minimum": 1, "maximum": MAX_ID}

# Error answers: status -> (component name, summary, the codes it carries).
ERRORS: dict[str, tuple[str, str, str]] = {
    "400": (
        "BadRequest",
        "Malformed request",
        "`invalid_query` (a query parameter is missing or invalid; `fields` names it), "
        "`malformed_json` (the body is not a JSON object, or has duplicate keys, NaN or Infinity)",
    ),
    "403": (
        "Forbidden",
        "Not allowed",
        "`bad_form_token` (the widget's form token is not genuine), `form_expired` (reload the "
        "form and send the text again), `bad_edit_token` (missing, or not this comment's), "
        "`edit_window_closed` (the author's edit window is over)",
    ),
    "404": ("NotFound", "Not found", "`site_not_found`, `not_found` (no such comment, or deleted)"),
    "413": (
        "TooLarge",
        "Body too large",
        f"`too_large` (over {DEFAULTS['MAX_CONTENT_LENGTH'] // 1024} KiB)",
    ),
    "415": ("UnsupportedMediaType", "Body is not JSON", "`unsupported_media_type`"),
    "422": (
        "InvalidFields",
        "Invalid fields",
        "`validation_failed` (`fields` has a message per invalid or unknown field), `too_fast` "
        "(the widget form came back within seconds of being shown)",
    ),
    "429": ("RateLimited", "Too many requests", "`rate_limited` (wait `Retry-After` seconds)"),
    "503": (
        "Unavailable",
        "Storage busy or down",
        "`storage_unavailable` (nothing was saved; retry after `Retry-After` seconds)",
    ),
}
READ_ERRORS = ("400", "404", "503")
BODY_ERRORS = ("400", "404", "413", "415", "422", "503")


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def of(type_: str | list[str], description: str = "", **keywords: Any) -> Json:
    """A schema of one JSON type, with its description and keywords."""
    schema: Json = {"type": type_, **keywords}
    if description:
        schema["description"] = description
    return schema


def maybe(type_: str, description: str = "", **keywords: Any) -> Json:
    """A schema that also allows null (an optional field sent as null counts as omitted)."""
    return of([type_, "null"], description, **keywords)


def obj(properties: Json, required: list[str] | None = None, description: str = "") -> Json:
    """A closed object: every property required unless ``required`` names some."""
    schema = of("object", description, properties=properties, additionalProperties=False)
    schema["required"] = list(properties) if required is None else required
    return schema


def key(limit: int, what: str) -> Json:
    """A site key or page id, exactly as the service accepts it."""
    pattern = f"^[{SPACE}]*{SOLID}(?:[^{CONTROL}]{{0,{limit - 2}}}{SOLID})?[{SPACE}]*$"
    return of(
        "string",
        f"{what}: 1 to {limit} characters once surrounding whitespace is trimmed, no control "
        "characters.",
        minLength=1,
        pattern=pattern,
    )


def text(limit: int, refused: str, description: str) -> Json:
    """Free text: at most ``limit`` characters, something visible, none of ``refused``."""
    pattern = f"^[^{refused}]*[{VISIBLE}][^{refused}]*$"
    return of("string", description, minLength=1, maxLength=limit, pattern=pattern)


def query(name: str, schema: Json, description: str, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def content(schema: str | Json) -> Json:
    return {
        "application/json": {
            "schema": ref("schemas", schema) if isinstance(schema, str) else schema
        }
    }


def answer(description: str, schema: str | Json | None = None, status: str = "200") -> Json:
    response: Json = {"description": description}
    if schema is not None:
        response["content"] = content(schema)
    return {status: response}


def operation(
    op_id: str,
    summary: str,
    description: str,
    responses: Json,
    *,
    tag: str = "comments",
    errors: tuple[str, ...] = (),
    parameters: list[Json] | None = None,
    body: str | None = None,
) -> Json:
    """One operation; ``errors`` lists the error statuses it can answer with."""
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary, "description": description}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": content(body)}
    op["responses"] = responses | {s: ref("responses", ERRORS[s][0]) for s in sorted(errors)}
    return op


def _comment_schemas() -> Json:
    comment = obj(
        {
            "id": of("integer", **ID),
            "parent": maybe("integer", "The comment this one replies to; null at the top.", **ID),
            "author": maybe("string", "The name shown; null once deleted.", maxLength=NAME_MAX),
            "website": maybe("string", "The author's http(s) website.", maxLength=WEBSITE_MAX),
            "avatar": maybe(
                "string",
                "URL of an identicon drawn from a keyed hash of the email (never the email, "
                "nor a hash anyone could compute); null once deleted.",
                format="uri",
            ),
            "html": of(
                "string", "The text rendered from markdown and sanitised; empty once deleted."
            ),
            "created": of("string", "When it was posted (UTC).", format="date-time"),
            "edited": maybe("string", "When its author last edited it (UTC).", format="date-time"),
            "likes": of("integer", minimum=0),
            "rating": maybe(
                "integer",
                "The author's rating of the page when the comment is a review.",
                minimum=1,
                maximum=10,
            ),
            "deleted": of(
                "boolean", "A deleted comment stays, emptied, only while replies hang from it."
            ),
            "replies": of(
                "array",
                "Replies shown under it, oldest first, at most "
                f"{DEFAULTS['PARLEY_REPLIES_PER_PARENT']} per comment by default.",
                items=ref("schemas", "Comment"),
            ),
            "more_replies": of(
                "integer",
                "Replies not shown here: list them with `parent` set to this comment's id.",
                minimum=0,
            ),
        },
        description="A published comment. It never carries an email address.",
    )
    comment_text = text(
        TEXT_MAX,
        TEXT_CONTROL,
        f"The comment in markdown (raw HTML is not rendered): 1 to {TEXT_MAX} characters once "
        "surrounding whitespace is trimmed, something visible, no control characters besides "
        "tab and line breaks.",
    )
    new_comment = {
        "name": text(
            NAME_MAX,
            NAME_CONTROL,
            f"The name shown with the comment: 1 to {NAME_MAX} characters once surrounding "
            "whitespace is trimmed and inner runs of whitespace became one space, something "
            "visible, no control characters.",
        ),
        "email": of(
            "string",
            "The author's email address: stored encrypted, never published.",
            format="email",
            maxLength=EMAIL_MAX,
        ),
        "text": comment_text,
        "website": maybe(
            "string",
            "The author's website, an http(s) URL without user info. Without a scheme "
            "(`example.org`) `https://` is assumed; empty means none.",
            maxLength=WEBSITE_MAX,
            pattern=WEBSITE,
        ),
        "parent": maybe(
            "integer",
            "Reply to this published comment on the same page (else 422). Replies deeper than "
            f"{DEFAULTS['PARLEY_MAX_DEPTH']} levels attach at the deepest level.",
            **ID,
        ),
        "notify": maybe("boolean", "Email the author about replies (default false)."),
        "title": maybe(
            "string",
            "The page's title, kept when this comment creates the page "
            f"and `url` is on the site's origins; cut to {TITLE_MAX} characters.",
        ),
        "url": maybe(
            "string",
            "The page's absolute http(s) URL, kept like `title` (at most "
            f"{URL_MAX} characters); anything else is ignored.",
        ),
        "form_token": maybe(
            "string",
            "The widget form's token (`GET /api/v1/form-token`). Direct API clients omit it.",
        ),
        "hp": maybe("string", "The widget's honeypot: leave it empty.", maxLength=0),
    }
    return {
        "Comment": comment,
        "NewComment": obj(new_comment, required=["name", "email", "text"]),
        "Posted": obj(
            {
                "comment": ref("schemas", "Comment"),
                "status": of(
                    "string",
                    "`pending` when the site moderates comments first.",
                    enum=["approved", "pending"],
                ),
                "edit_token": of(
                    "string",
                    "Lets the author edit or delete the comment (header "
                    "`X-Parley-Edit-Token`); given only once.",
                    minLength=32,
                ),
            }
        ),
        "CommentEdit": obj({"text": comment_text}),
        "Edited": obj({"comment": ref("schemas", "Comment")}),
    }


def _other_schemas() -> Json:
    from .api import MAX_COUNT_PAGES  # imported here: that module imports this one

    count = obj(
        {
            "comments": of("integer", "Published comments on the page.", minimum=0),
            "rating_count": of("integer", "Visitors who rated the page.", minimum=0),
            "rating_average": maybe(
                "number", "Their average rating, or null.", minimum=1, maximum=10
            ),
        }
    )
    error = obj(
        {
            "code": of("string", "Stable, machine-readable code.", pattern="^[a-z][a-z_]*$"),
            "message": of("string", "What went wrong, for a person."),
            "fields": of(
                "object",
                "A message per invalid field or parameter (else empty).",
                additionalProperties={"type": "string"},
            ),
        }
    )
    return {
        "Page": obj(
            {
                "id": of("string", "The page id, trimmed."),
                "title": maybe("string", maxLength=TITLE_MAX),
                "url": maybe("string", maxLength=URL_MAX),
                "comment_count": of("integer", "Published comments and replies.", minimum=0),
            },
            description="The page of a thread. Title and URL are known once a comment "
            "brought them from one of the site's origins.",
        ),
        "Thread": obj(
            {
                "page": ref("schemas", "Page"),
                "comments": of("array", items=ref("schemas", "Comment")),
                "next": maybe("string", "Cursor to the next comments; null at the end."),
            }
        ),
        "CountsRequest": obj(
            {
                "pages": of(
                    "array",
                    f"Up to {MAX_COUNT_PAGES} page ids.",
                    maxItems=MAX_COUNT_PAGES,
                    items=key(PAGE_KEY_MAX, "A page id"),
                ),
            }
        ),
        "Counts": obj(
            {
                "counts": of(
                    "object",
                    "One entry per page id asked for (trimmed); pages nobody "
                    "commented on or rated count 0.",
                    additionalProperties=count,
                ),
            }
        ),
        "FormToken": obj(
            {"form_token": of("string", "Send it back as `form_token`.", minLength=1)}
        ),
        "Health": obj({"status": of("string", enum=["ok", "unavailable"])}),
        "Error": obj({"error": error}, description="Every error an API caller gets."),
    }


def _parameters() -> Json:
    empty = " An empty value counts as omitted."
    return {
        "Site": query(
            "site",
            key(SITE_KEY_MAX, "A site key") | {"default": "default"},
            "The site (default `default`).",
        ),
        "Page": query(
            "page",
            key(PAGE_KEY_MAX, "A page id") | {"examples": ["/anime/lumen"]},
            "The page id the embed gives, e.g. `/anime/lumen`.",
            required=True,
        ),
        "Sort": query(
            "sort",
            of("string", enum=list(SORTS), default=SORTS[0]),
            "Order of the comments: `oldest` or `newest` first, or `top` (most liked "
            "first). Replies are always oldest first." + empty,
        ),
        "Cursor": query(
            "cursor",
            of("string"),
            "The `next` value of the previous answer, with the same sort (else 400)." + empty,
        ),
        "Limit": query(
            "limit",
            of("integer", minimum=1, maximum=100, default=DEFAULTS["PARLEY_PAGE_SIZE"]),
            "How many comments to answer with." + empty,
        ),
        "Parent": query(
            "parent",
            of("integer", minimum=0, maximum=MAX_ID, default=0),
            "List the replies of this comment instead (0: top level)." + empty,
        ),
        "CommentId": {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": of("integer", **ID),
            "description": "The comment's id.",
        },
        "EditToken": {
            "name": "X-Parley-Edit-Token",
            "in": "header",
            "required": True,
            "description": "The comment's `edit_token` (missing or wrong: 403).",
            "schema": of("string", minLength=1),
        },
    }


def _paths() -> Json:
    site, page = ref("parameters", "Site"), ref("parameters", "Page")
    thread = [site, page, *(ref("parameters", n) for n in ("Sort", "Cursor", "Limit", "Parent"))]
    one = [ref("parameters", "CommentId"), ref("parameters", "EditToken")]
    window = DEFAULTS["PARLEY_EDIT_WINDOW"] // 60
    comments = {
        "get": operation(
            "listComments",
            "Read a page's thread",
            "Top-level comments (or one comment's replies), paged with a cursor, "
            "each with its first replies nested. A page nobody commented on "
            "reads as an empty thread.",
            answer("The thread.", "Thread"),
            parameters=thread,
            errors=READ_ERRORS,
        ),
        "post": operation(
            "postComment",
            "Post a comment or a reply",
            "Creates the page with its first comment. The answer holds the edit "
            "token, once. Posts are rate-limited per client address.",
            answer("Stored.", "Posted", "201"),
            parameters=[site, page],
            body="NewComment",
            errors=(*BODY_ERRORS, "403", "429"),
        ),
    }
    comment = {
        "patch": operation(
            "editComment",
            "Edit a comment's text",
            f"By its author, with the edit token, within the site's edit window "
            f"({window} minutes by default).",
            answer("Edited.", "Edited"),
            parameters=one,
            body="CommentEdit",
            errors=(*BODY_ERRORS, "403"),
        ),
        "delete": operation(
            "deleteComment",
            "Delete a comment",
            "By its author, with the edit token, within the edit window. Name, "
            "email and text are removed, not hidden; an empty placeholder "
            "stays only while replies hang from it.",
            {"204": {"description": "Deleted."}},
            parameters=one,
            errors=("403", "404", "503"),
        ),
    }
    health = answer("The database answers.", "Health") | {
        "503": {
            "description": "The database does not answer.",
            "content": content("Health"),
            "headers": {"Retry-After": ref("headers", "RetryAfter")},
        }
    }
    return {
        "/api/v1/comments": comments,
        "/api/v1/comments/{id}": comment,
        "/api/v1/counts": {
            "post": operation(
                "countComments",
                "Counts for many pages",
                "For listing pages that show a count next to each link.",
                answer("The counts.", "Counts"),
                tag="counts",
                parameters=[site],
                body="CountsRequest",
                errors=BODY_ERRORS,
            )
        },
        "/api/v1/form-token": {
            "get": operation(
                "formToken",
                "A fresh form token",
                "For the widget's form: a signed time token, never cached.",
                answer("The token.", "FormToken"),
                tag="widget",
            )
        },
        "/api/v1/openapi.json": {
            "get": operation(
                "openapi",
                "This document",
                "The OpenAPI 3.1 description of the API.",
                answer("The document.", {"type": "object"}),
                tag="service",
            )
        },
        "/healthz": {
            "get": operation(
                "health",
                "Health check",
                "200 when the database answers, else 503.",
                health,
                tag="service",
            )
        },
    }


DESCRIPTION = """\
Comments for any web page. Every call names a site and a page with the query parameters
`site` (default `default`) and `page` (the page id the embed gives).

Bodies are JSON objects (`Content-Type: application/json`); unknown fields are refused.
Every error is JSON, `{"error": {"code", "message", "fields"}}`, with 400 (malformed),
403 (token), 404, 405 (method not allowed, with `Allow`), 413 (too large), 415 (not JSON),
422 (invalid fields), 429 (rate limit, with `Retry-After`) or 503 (storage busy or down,
with `Retry-After`). Nothing a client sends produces a 500.
"""


@cache
def _document() -> Json:
    retry = ref("headers", "RetryAfter")
    responses = {
        name: {"description": f"{summary}. Codes: {codes}.", "content": content("Error")}
        | ({"headers": {"Retry-After": retry}} if status in ("429", "503") else {})
        for status, (name, summary, codes) in ERRORS.items()
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1", "description": DESCRIPTION},
        "tags": [
            {"name": "comments", "description": "Threads; posting, editing, deleting."},
            {"name": "counts", "description": "Comment counts for listing pages."},
            {"name": "widget", "description": "Helpers for the embedded widget."},
            {"name": "service", "description": "The service itself."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _comment_schemas() | _other_schemas(),
            "parameters": _parameters(),
            "headers": {
                "RetryAfter": {
                    "description": "Seconds to wait.",
                    "required": True,
                    "schema": of("string", pattern="^[0-9]+$"),
                }
            },
            "responses": responses,
        },
    }


def openapi_document() -> Json:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())

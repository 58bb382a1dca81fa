"""The OpenAPI 3.1 document served at /api/v1/openapi.json: the reference for the JSON API.

Limits come from the constants the validators use (service/models.py and
service/validation.py), so a request the document calls valid is accepted. Where the
service is more forgiving than JSON Schema can say (it trims surrounding whitespace,
collapses runs of spaces in a name, accepts any visible Unicode character), the schema
describes a strict form and the description says what else is tolerated. Patterns are
ECMA-262 regular expressions that read the same in Python.

The document is built once; ``openapi_document`` hands out a deep copy.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from .config import DEFAULTS
from .models import EMAIL_MAX, NAME_MAX, PAGE_KEY_MAX, SITE_KEY_MAX, TEXT_MAX, WEBSITE_MAX
from .threads import SORTS
from .validation import MAX_ID

Json = dict[str, Any]

# Characters Python's str.split()/str.strip() treat as whitespace: the service trims them.
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Control characters (Unicode category Cc).
CONTROL = r"\x00-\x1f\x7f-\x9f"
# Control characters that are not whitespace: refused anywhere in a name.
NAME_CONTROL = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
# Control characters refused in a comment's text (tab and line breaks are fine).
TEXT_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
# Characters every reader sees: ASCII and Latin letters, digits and punctuation, Cyrillic,
# kana, CJK ideographs and Hangul. The service accepts any visible character; a value
# holding one of these is sure to count as visible.
VISIBLE = (
    r"!-~\u00a1-\u00ac\u00ae-\u024f\u0400-\u0482\u048a-\u04ff"
    r"\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fa5\uac00-\ud7a3"
)
# An absolute http(s) URL without user info; a website may also be left empty.
WEBSITE_PATTERN = (
    r"^(?:https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,4})?(?:[/?#][!-~]*)?)?$"
)

# Error responses: status -> (component name, summary, the codes it carries).
ERRORS: dict[str, tuple[str, str, str]] = {
    "400": (
        "BadRequest",
        "Malformed request",
        "`invalid_query` (a query parameter is missing or invalid; `fields` names it), "
        "`malformed_json` (the body is not a JSON object, or has duplicate keys, NaN or "
        "Infinity)",
    ),
    "403": (
        "Forbidden",
        "Not allowed",
        "`bad_form_token` (the widget's form token is not genuine), `form_expired` (reload the "
        "form; the text can be sent again), `bad_edit_token` (the edit token does not belong "
        "to this comment), `edit_window_closed` (the author's edit window is over)",
    ),
    "404": (
        "NotFound",
        "Not found",
        "`site_not_found` (no site has this key), `not_found` (no such comment, or it was deleted)",
    ),
    "413": (
        "TooLarge",
        "Body too large",
        f"`too_large` (the body exceeds {DEFAULTS['MAX_CONTENT_LENGTH'] // 1024} KiB)",
    ),
    "415": (
        "UnsupportedMediaType",
        "Body is not JSON",
        "`unsupported_media_type` (send the body with `Content-Type: application/json`)",
    ),
    "422": (
        "InvalidFields",
        "Invalid fields",
        "`validation_failed` (`fields` holds one message per invalid or unknown field), "
        "`too_fast` (the widget form came back within seconds of being shown)",
    ),
    "429": (
        "RateLimited",
        "Too many requests",
        "`rate_limited` (too many comments from this address: wait `Retry-After` seconds)",
    ),
    "503": (
        "Unavailable",
        "Storage busy or down",
        "`storage_unavailable` (nothing was saved: retry after `Retry-After` seconds)",
    ),
}


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def nullable(schema: Json) -> Json:
    """The schema, also allowing null (an optional field sent as null counts as omitted)."""
    return {**schema, "type": [schema["type"], "null"]}


def json_content(schema: Json) -> Json:
    return {"application/json": {"schema": schema}}


def key_schema(limit: int, what: str) -> Json:
    """A site key or page id, exactly as the service accepts it."""
    solid = f"[^{CONTROL}{SPACE}]"
    pattern = f"^[{SPACE}]*{solid}(?:[^{CONTROL}]{{0,{limit - 2}}}{solid})?[{SPACE}]*$"
    return {
        "type": "string",
        "minLength": 1,
        "pattern": pattern,
        "description": f"{what}: 1 to {limit} characters once surrounding whitespace is "
        "trimmed, with no control characters.",
    }


def text_schema(limit: int, refused: str, description: str) -> Json:
    """Free text: at most ``limit`` characters, at least one visible, none of ``refused``."""
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": limit,
        "pattern": f"^[^{refused}]*[{VISIBLE}][^{refused}]*$",
        "description": description,
    }


def query(name: str, schema: Json, description: str, *, required: bool = False) -> Json:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }


def obj(properties: Json, required: list[str] | None = None, **extra: Any) -> Json:
    """A closed object schema: every listed property required unless ``required`` says."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": False,
        **extra,
    }


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
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary}
    op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": json_content(ref("schemas", body))}
    op["responses"] = responses | {s: ref("responses", ERRORS[s][0]) for s in errors}
    return op


def answer(description: str, schema: str | None = None, status: str = "200") -> Json:
    response: Json = {"description": description}
    if schema is not None:
        response["content"] = json_content(ref("schemas", schema))
    return {status: response}


def _schemas() -> Json:
    from .api import MAX_COUNT_PAGES  # the API module imports this one

    timestamp = {"type": "string", "format": "date-time"}
    comment = obj(
        {
            "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            "parent": {
                **nullable({"type": "integer", "minimum": 1, "maximum": MAX_ID}),
                "description": "The comment this one replies to; null for a top-level comment.",
            },
            "author": {
                **nullable({"type": "string", "minLength": 1, "maxLength": NAME_MAX}),
                "description": "The author's name as shown; null once deleted.",
            },
            "website": {
                **nullable({"type": "string", "maxLength": WEBSITE_MAX}),
                "description": "The author's http(s) website, or null.",
            },
            "avatar": {
                **nullable({"type": "string", "format": "uri"}),
                "description": "URL of an identicon drawn from a keyed hash of the email "
                "(never the email, nor a hash anyone could compute); null once deleted.",
            },
            "html": {
                "type": "string",
                "description": "The comment rendered from markdown and sanitised; empty once "
                "deleted.",
            },
            "created": {**timestamp, "description": "When it was posted (UTC)."},
            "edited": {
                **nullable(timestamp),
                "description": "When its author last edited it (UTC), or null.",
            },
            "likes": {"type": "integer", "minimum": 0},
            "rating": {
                **nullable({"type": "integer", "minimum": 1, "maximum": 10}),
                "description": "The author's rating of the page when the comment is a review; "
                "null otherwise.",
            },
            "deleted": {
                "type": "boolean",
                "description": "A deleted comment stays, emptied, only while replies hang from it.",
            },
            "replies": {
                "type": "array",
                "items": ref("schemas", "Comment"),
                "description": "Replies shown under it, oldest first, at most "
                f"{DEFAULTS['PARLEY_REPLIES_PER_PARENT']} per comment by default.",
            },
            "more_replies": {
                "type": "integer",
                "minimum": 0,
                "description": "Replies not shown here: read them with `parent` set to this "
                "comment's id.",
            },
        },
        description="A published comment. Never carries an email address.",
    )
    name = text_schema(
        NAME_MAX,
        NAME_CONTROL,
        f"The name shown with the comment: 1 to {NAME_MAX} characters with at least one "
        "visible character and no control characters. Surrounding whitespace is trimmed and "
        "inner runs of whitespace become one space before the length is checked. Any visible "
        "Unicode character counts; the pattern lists a common subset.",
    )
    text = text_schema(
        TEXT_MAX,
        TEXT_CONTROL,
        f"The comment in markdown (raw HTML is not rendered): 1 to {TEXT_MAX} characters once "
        "surrounding whitespace is trimmed, with something visible, and no control characters "
        "besides tab and line breaks.",
    )
    return {
        "Comment": comment,
        "Page": obj(
            {
                "id": {"type": "string", "description": "The page id, as given."},
                "title": nullable({"type": "string"}),
                "url": nullable({"type": "string"}),
                "comment_count": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Published comments and replies on the page.",
                },
            },
            description="The page a thread belongs to. Title and URL are known once the first "
            "comment brings them from one of the site's own origins.",
        ),
        "Thread": obj(
            {
                "page": ref("schemas", "Page"),
                "comments": {"type": "array", "items": ref("schemas", "Comment")},
                "next": {
                    **nullable({"type": "string"}),
                    "description": "Cursor for the next page of comments, or null at the end.",
                },
            }
        ),
        "NewComment": obj(
            {
                "name": name,
                "email": {
                    "type": "string",
                    "format": "email",
                    "maxLength": EMAIL_MAX,
                    "description": "The author's email address. It is stored encrypted and "
                    "never published.",
                },
                "text": text,
                "website": {
                    **nullable({"type": "string", "maxLength": WEBSITE_MAX}),
                    "pattern": WEBSITE_PATTERN,
                    "description": "The author's website, an http(s) URL without user info. "
                    "Without a scheme (`example.org`) `https://` is assumed; empty means none.",
                },
                "parent": {
                    **nullable({"type": "integer", "minimum": 1, "maximum": MAX_ID}),
                    "description": "The id of a published comment on the same page to reply "
                    "to (422 otherwise). Replies deeper than "
                    f"{DEFAULTS['PARLEY_MAX_DEPTH']} levels attach at the deepest level.",
                },
                "notify": {
                    **nullable({"type": "boolean"}),
                    "description": "Email the author about replies (default false).",
                },
                "title": {
                    **nullable({"type": "string"}),
                    "description": "The page's title, kept when this comment creates the page "
                    "and `url` is on one of the site's origins; whitespace is collapsed and "
                    "it is cut to 200 characters.",
                },
                "url": {
                    **nullable({"type": "string"}),
                    "description": "The page's absolute http(s) URL, kept like `title`; "
                    "anything else is ignored.",
                },
                "form_token": {
                    **nullable({"type": "string"}),
                    "description": "The widget form's signed time token (from "
                    "`GET /api/v1/form-token`). Direct API clients omit it.",
                },
                "hp": {
                    **nullable({"type": "string", "maxLength": 0}),
                    "description": "The widget's honeypot field: leave it empty or omit it.",
                },
            },
            required=["name", "email", "text"],
        ),
        "Posted": obj(
            {
                "comment": ref("schemas", "Comment"),
                "status": {
                    "type": "string",
                    "enum": ["approved", "pending"],
                    "description": "`pending` when the site moderates new comments first.",
                },
                "edit_token": {
                    "type": "string",
                    "minLength": 32,
                    "description": "Secret that lets the author edit or delete this comment "
                    "(header `X-Parley-Edit-Token`). It is given only once.",
                },
            }
        ),
        "CommentEdit": obj({"text": text}),
        "Edited": obj({"comment": ref("schemas", "Comment")}),
        "CountsRequest": obj(
            {
                "pages": {
                    "type": "array",
                    "maxItems": MAX_COUNT_PAGES,
                    "items": key_schema(PAGE_KEY_MAX, "A page id"),
                    "description": f"Up to {MAX_COUNT_PAGES} page ids.",
                }
            }
        ),
        "Counts": obj(
            {
                "counts": {
                    "type": "object",
                    "additionalProperties": obj(
                        {
                            "comments": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "Published comments on the page.",
                            },
                            "rating_count": {
                                "type": "integer",
                                "minimum": 0,
                                "description": "Visitors who rated the page.",
                            },
                            "rating_average": {
                                **nullable({"type": "number", "minimum": 1, "maximum": 10}),
                                "description": "Their average rating (one decimal), or null.",
                            },
                        }
                    ),
                    "description": "One entry per page id asked for (trimmed of surrounding "
                    "whitespace); pages nobody commented on count 0.",
                }
            }
        ),
        "FormToken": obj(
            {
                "form_token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "Signed time token to send back as `form_token`.",
                }
            }
        ),
        "Health": obj({"status": {"type": "string", "enum": ["ok", "unavailable"]}}),
        "Error": obj(
            {
                "error": obj(
                    {
                        "code": {
                            "type": "string",
                            "pattern": "^[a-z][a-z_]*$",
                            "description": "Stable, machine-readable code.",
                        },
                        "message": {
                            "type": "string",
                            "description": "What went wrong, for a person.",
                        },
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "description": "A message per invalid field or parameter; "
                            "empty when the error is not about one.",
                        },
                    }
                )
            },
            description="Every error an API caller gets.",
        ),
    }


def _parameters() -> Json:
    site = key_schema(SITE_KEY_MAX, "A site key")
    return {
        "Site": query("site", site | {"default": "default"}, "The site (default `default`)."),
        "Page": query(
            "page",
            key_schema(PAGE_KEY_MAX, "A page id") | {"examples": ["/anime/metallic-rouge"]},
            "The page id the embed gives, e.g. `/anime/metallic-rouge`.",
            required=True,
        ),
        "CommentId": {
            "name": "id",
            "in": "path",
            "required": True,
            "description": "The comment's id.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        },
        "EditToken": {
            "name": "X-Parley-Edit-Token",
            "in": "header",
            "required": True,
            "description": "The `edit_token` the comment was posted with.",
            "schema": {"type": "string", "minLength": 1},
        },
    }


def _thread_parameters() -> list[Json]:
    return [
        ref("parameters", "Site"),
        ref("parameters", "Page"),
        query(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": SORTS[0]},
            "Order of the comments paged: `oldest` or `newest` first, or `top` (most liked "
            "first). Replies are always oldest first.",
        ),
        query(
            "cursor",
            {"type": "string"},
            "The `next` value of the previous answer; a cursor made for another sort "
            "is refused (400).",
        ),
        query(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "default": DEFAULTS["PARLEY_PAGE_SIZE"],
            },
            "How many comments per answer.",
        ),
        query(
            "parent",
            {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
            "Page through the replies of this comment instead of the top-level comments "
            "(0: top level).",
        ),
    ]


def _paths() -> Json:
    page = [ref("parameters", "Site"), ref("parameters", "Page")]
    one = [ref("parameters", "CommentId"), ref("parameters", "EditToken")]
    return {
        "/api/v1/comments": {
            "get": operation(
                "listComments",
                "Read a page's thread",
                "Top-level comments (or one comment's replies), paged with a cursor, each with "
                "its first replies nested. A page nobody commented on reads as an empty thread.",
                answer("The thread.", "Thread"),
                parameters=_thread_parameters(),
                errors=("400", "404", "503"),
            ),
            "post": operation(
                "postComment",
                "Post a comment or reply",
                "Creates the page on its first comment. The answer carries the edit token, "
                "once. Posts are rate-limited per client address.",
                answer("The comment was stored.", "Posted", "201"),
                parameters=page,
                body="NewComment",
                errors=("400", "403", "404", "413", "415", "422", "429", "503"),
            ),
        },
        "/api/v1/comments/{id}": {
            "patch": operation(
                "editComment",
                "Edit a comment's text",
                "By its author, with the edit token, within the site's edit window "
                f"({DEFAULTS['PARLEY_EDIT_WINDOW'] // 60} minutes by default).",
                answer("The edited comment.", "Edited"),
                parameters=one,
                body="CommentEdit",
                errors=("400", "403", "404", "413", "415", "422", "503"),
            ),
            "delete": operation(
                "deleteComment",
                "Delete a comment",
                "By its author, with the edit token, within the edit window. The name, email "
                "and text are removed, not only hidden; an empty placeholder stays only while "
                "replies hang from it.",
                {"204": {"description": "Deleted."}},
                parameters=one,
                errors=("403", "404", "503"),
            ),
        },
        "/api/v1/counts": {
            "post": operation(
                "countComments",
                "Comment counts for many pages",
                "For listing pages that show a count next to each link.",
                answer("The counts.", "Counts"),
                tag="counts",
                parameters=[ref("parameters", "Site")],
                body="CountsRequest",
                errors=("400", "404", "413", "415", "422", "503"),
            ),
        },
        "/api/v1/form-token": {
            "get": operation(
                "formToken",
                "A fresh form token",
                "For the widget's form: a signed time token, never cached.",
                answer("The token.", "FormToken"),
                tag="widget",
            ),
        },
        "/api/v1/openapi.json": {
            "get": operation(
                "openapi",
                "This document",
                "The OpenAPI 3.1 description of the API.",
                {
                    "200": {
                        "description": "The document.",
                        "content": json_content({"type": "object"}),
                    }
                },
                tag="service",
            ),
        },
        "/healthz": {
            "get": operation(
                "health",
                "Health check",
                "200 when the database answers, else 503 with `Retry-After`.",
                answer("The service and its database answer.", "Health")
                | {
                    "503": {
                        "description": "The database does not answer.",
                        "headers": {"Retry-After": ref("headers", "RetryAfter")},
                        "content": json_content(ref("schemas", "Health")),
                    }
                },
                tag="service",
            ),
        },
    }


DESCRIPTION = """\
Comments for any web page. Every call names a site and a page with the query parameters
`site` (default `default`) and `page` (the page id the embed gives).

Bodies are JSON objects (`Content-Type: application/json`); unknown fields are refused.
Every error is JSON: `{"error": {"code", "message", "fields"}}` with 400 (malformed),
403 (token), 404, 405 (method not allowed, with `Allow`), 413 (too large),
415 (not JSON), 422 (invalid fields), 429 (rate limit, with `Retry-After`) or
503 (storage busy or down, with `Retry-After`).
"""


@cache
def _document() -> Json:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1", "description": DESCRIPTION},
        "tags": [
            {"name": "comments", "description": "Threads, posting, editing and deleting."},
            {"name": "counts", "description": "Comment counts for listing pages."},
            {"name": "widget", "description": "Helpers for the embedded widget."},
            {"name": "service", "description": "The service itself."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": _parameters(),
            "headers": {
                "RetryAfter": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
            "responses": {
                name: {
                    "description": f"{title}. Codes: {codes}.",
                    "content": json_content(ref("schemas", "Error")),
                }
                | (
                    {"headers": {"Retry-After": ref("headers", "RetryAfter")}}
                    if status in ("429", "503")
                    else {}
                )
                for status, (name, title, codes) in ERRORS.items()
            },
        },
    }


def openapi_document() -> Json:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())

"""The OpenAPI 3.1 document served at /api/v1/openapi.json: the reference for the JSON API.

Limits come from the constants the validators use, so a request the document calls valid
is accepted. Where the service is more forgiving than JSON Schema can say (it trims
whitespace before counting, and accepts any visible Unicode character where a pattern
lists a common subset), the schema gives the strict form and the description says what
else is tolerated; where it is stricter (a vote written `3.0`, which JSON Schema counts as
an integer), the description says what is refused. Patterns are ECMA-262 regular
expressions that read the same in Python.

The document is built once; ``openapi_document`` hands out a deep copy.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from service.config import DEFAULTS
from service.data.bounds import (
    EDITORIAL_SCALES,
    EMAIL_MAX,
    LABEL_MAX,
    MAX_COUNT_PAGES,
    MAX_ID,
    NAME_MAX,
    PAGE_KEY_MAX,
    SITE_KEY_MAX,
    SORTS,
    TEXT_MAX,
    TITLE_MAX,
    URL_MAX,
    WEBSITE_MAX,
)
from service.data.bounds import VISITOR_KEY_MAX as KEY_MAX
from service.rules.visitors import HEADER as VISITOR

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

# The scales a site rates on (the `site` table's check constraint).
SCALES = (5, 10)
# Votes and ratings: the service refuses `3.0`, which JSON Schema counts as an integer.
WHOLE = "A whole number written as one (`3`, not `3.0`)"
SCALE = "the site's scale (" + " or ".join(map(str, SCALES)) + ")"
# A visitor key as the service issues it: a signed random id in URL-safe base64.
VISITOR_KEY = "[A-Za-z0-9_.-]"

# Error codes and what each means, for the descriptions of the error answers.
CODES: dict[str, str] = {
    "invalid_query": "a query parameter is missing or invalid; `fields` names it",
    "malformed_json": "the body is not a JSON object, or has duplicate keys, NaN or Infinity",
    "visitor_required": f"no `{VISITOR}` header: get a key from `POST /api/v1/visitors`",
    "origin_not_allowed": "a browser sent an `Origin` that is not one of the site's allowed "
    "origins or the service's own",
    "cross_site": "a browser marked the request cross-site (`Sec-Fetch-Site`) and sent no `Origin`",
    "bad_form_token": "the widget's form token is not genuine",
    "form_expired": "reload the form and send the text again",
    "bad_edit_token": "missing, or not this comment's",
    "edit_window_closed": "the author's edit window is over",
    "bad_visitor": f"the `{VISITOR}` key is not one this service issued: get a new one",
    "ratings_closed": "the page takes no more votes",
    "comments_closed": "the page takes no more comments",
    "banned": "the site refuses this author",
    "site_not_found": "",
    "not_found": "no such comment, or deleted",
    "too_large": f"over {DEFAULTS['MAX_CONTENT_LENGTH'] // 1024} KiB",
    "unsupported_media_type": "",
    "validation_failed": "`fields` has a message per invalid or unknown field",
    "too_fast": "the widget form came back within seconds of being shown",
    "rate_limited": "wait `Retry-After` seconds",
    "storage_unavailable": "nothing was saved; retry after `Retry-After` seconds",
}
# What a browser's write can be refused for, besides its own reasons.
ORIGIN = ("origin_not_allowed", "cross_site")
# Error answers: status -> (component name, summary, the codes it usually carries).
# An operation whose codes differ gives its own (see ``operation``).
ERRORS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "400": ("BadRequest", "Malformed request", ("invalid_query", "malformed_json")),
    "403": ("Forbidden", "Not allowed", ORIGIN),
    "404": ("NotFound", "Not found", ("site_not_found", "not_found")),
    "413": ("TooLarge", "Body too large", ("too_large",)),
    "415": ("UnsupportedMediaType", "Body is not JSON", ("unsupported_media_type",)),
    "422": ("InvalidFields", "Invalid fields", ("validation_failed", "too_fast")),
    "429": ("RateLimited", "Too many requests", ("rate_limited",)),
    "503": ("Unavailable", "Storage busy or down", ("storage_unavailable",)),
}
READ_ERRORS = ("400", "404", "503")
BODY_ERRORS = ("400", "404", "413", "415", "422", "503")
WITH_VISITOR = ("invalid_query", "malformed_json", "visitor_required")


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


def failure(status: str, codes: tuple[str, ...]) -> Json:
    """An error answer carrying these codes; Retry-After where the client should wait."""
    summary = ERRORS[status][1]
    listed = ", ".join(f"`{c}` ({CODES[c]})" if CODES[c] else f"`{c}`" for c in codes)
    response: Json = {"description": f"{summary}. Codes: {listed}.", "content": content("Error")}
    if status in ("429", "503"):
        response["headers"] = {"Retry-After": ref("headers", "RetryAfter")}
    return response


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
    codes: dict[str, tuple[str, ...]] | None = None,
) -> Json:
    """One operation; ``errors`` lists the error statuses it can answer with.

    ``codes`` gives, for some of those statuses, the codes this operation answers with
    instead of the shared answer's.
    """
    codes = codes or {}
    assert set(codes) <= set(errors), (op_id, codes)
    op: Json = {"operationId": op_id, "tags": [tag], "summary": summary, "description": description}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": content(body)}
    op["responses"] = responses | {
        s: failure(s, codes[s]) if s in codes else ref("responses", ERRORS[s][0])
        for s in sorted(errors)
    }
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
                maximum=max(SCALES),
            ),
            "moderator": of("boolean", "Posted by one of the site's moderators."),
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
            "replies_cursor": maybe(
                "string",
                "Where the replies not shown start: `GET /api/v1/comments?parent=<id>"
                "&cursor=<this>`; null when every reply is shown.",
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
        "rating": maybe(
            "integer",
            "Makes the comment a review: its rating of the page becomes the visitor's one "
            "rating there (replacing an earlier vote), counted while the comment is published. "
            f"Needs the `{VISITOR}` header (400 `visitor_required` without it). {WHOLE} from 1 "
            f"to {SCALE}, else 422; 403 `ratings_closed` where the page takes no votes.",
            minimum=1,
            maximum=max(SCALES),
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
                    "`X-Parley-Edit-Token`); given only in this answer (and again to a "
                    "retry of the same post).",
                    minLength=32,
                ),
            }
        ),
        "CommentEdit": obj(
            {
                "text": comment_text,
                "rating": of(
                    "integer",
                    f"The review's new rating: {WHOLE.lower()} from 1 to {SCALE}; else "
                    "422 (null too). Given to a comment that is not yet a review, it makes "
                    "it one "
                    f"for the visitor whose key comes in `{VISITOR}` (400 `visitor_required` "
                    "without it).",
                    minimum=1,
                    maximum=max(SCALES),
                ),
            },
            required=[],
            description="New text, a new rating, or both: at least one.",
        )
        | {"minProperties": 1},
        "Edited": obj({"comment": ref("schemas", "Comment")}),
    }


def _other_schemas() -> Json:
    count = obj(
        {
            "comments": of("integer", "Published comments on the page.", minimum=0),
            "rating_count": of("integer", "Visitors who rated the page.", minimum=0),
            "rating_average": maybe(
                "number", "Their average rating, or null.", minimum=1, maximum=max(SCALES)
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


def _rating_schemas() -> Json:
    top = max(SCALES)
    vote = of(
        "integer",
        f"{WHOLE} from 1 to {SCALE}; anything else is 422 and nothing is stored.",
        minimum=1,
    )
    editorial_item = obj(
        {
            "label": of("string", "Where the score comes from, e.g. `IMDB`.", maxLength=LABEL_MAX),
            "score": of("number", "On its own scale, one decimal.", minimum=0, maximum=100),
            "scale": of("integer", enum=list(EDITORIAL_SCALES)),
            "url": maybe("string", "Where the score is published.", maxLength=URL_MAX),
        }
    )
    summary = obj(
        {
            "scale": of("integer", "The site's scale: votes go from 1 to it.", enum=list(SCALES)),
            "count": of("integer", "Votes counted (published reviews included).", minimum=0),
            "average": maybe(
                "number", "Their average, one decimal; null without votes.", minimum=1, maximum=top
            ),
            "histogram": of(
                "object",
                'Votes per value: one entry for each value from `"1"` to the scale.',
                propertyNames={"pattern": "^(?:[1-9]|10)$"},
                additionalProperties=of("integer", minimum=0),
                minProperties=min(SCALES),
                maxProperties=top,
            ),
            "yours": maybe(
                "integer",
                f"The vote of the visitor whose key came in `{VISITOR}`; null without a key "
                "or a vote.",
                minimum=1,
                maximum=top,
            ),
            "editorial": obj(
                {
                    "items": of("array", items=editorial_item),
                    "average": maybe(
                        "number",
                        "Their average normalised to the site's scale, one decimal; null "
                        "without scores.",
                        minimum=0,
                        maximum=top,
                    ),
                },
                description="The owner's own scores: shown beside the visitors' rating, never "
                "mixed into it.",
            ),
            "closed": of("boolean", "The page takes no more votes (PUT is 403)."),
        },
        description="A page's rating: what visitors voted, and what the owner scored.",
    )
    # Values run from 1 to the scale: the histogram has exactly those keys.
    summary["allOf"] = [
        {
            "if": {"properties": {"scale": {"const": scale}}},
            "then": {
                "properties": {
                    "histogram": {"required": [str(v) for v in range(1, scale + 1)]}
                    | {"maxProperties": scale},
                    "average": {"maximum": scale},
                    "yours": {"maximum": scale},
                    "editorial": {"properties": {"average": {"maximum": scale}}},
                }
            },
        }
        for scale in SCALES
    ]
    return {
        "Visitor": obj(
            {
                "visitor": of(
                    "string",
                    f"The key: keep it and send it in the `{VISITOR}` header.",
                    minLength=1,
                    maxLength=KEY_MAX,
                    pattern=f"^{VISITOR_KEY}+$",
                )
            }
        ),
        "RatingSummary": summary,
        "Vote": obj({"value": vote | {"maximum": top}}),
        "LikeState": obj(
            {
                "likes": of("integer", "The comment's likes now.", minimum=0),
                "liked": of("boolean", "Whether this visitor likes it now."),
            }
        ),
        "Likes": obj(
            {
                "liked": of(
                    "array",
                    "Ids of the comments on the page this visitor likes, ascending.",
                    items=of("integer", **ID),
                )
            }
        ),
    }


def visitor(required: bool, rules: str) -> Json:
    """The visitor key header, required or optional."""
    return {
        "name": VISITOR,
        "in": "header",
        "required": required,
        "description": f"A visitor key from `POST /api/v1/visitors` ({rules}).",
        "schema": of(
            "string",
            "Opaque: letters, digits, `-`, `_` and `.`.",
            maxLength=KEY_MAX,
            pattern=f"^{VISITOR_KEY}{'+' if required else '*'}$",
        ),
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
        "Visitor": visitor(
            True,
            "missing: 400 `visitor_required`; not a key this service issued: 403 `bad_visitor`",
        ),
        "MaybeVisitor": visitor(
            False,
            "an empty value counts as omitted; a key this service did not issue: 403 `bad_visitor`",
        ),
        "VisitorSite": query(
            "site",
            of("string", default="default"),
            "The site whose allowed origins a browser's request is checked against (default "
            "`default`). A key is not tied to a site, and the value is not otherwise checked.",
        ),
    }


def _paths() -> Json:
    site, page = ref("parameters", "Site"), ref("parameters", "Page")
    thread = [site, page, *(ref("parameters", n) for n in ("Sort", "Cursor", "Limit", "Parent"))]
    key, maybe_key = ref("parameters", "Visitor"), ref("parameters", "MaybeVisitor")
    one = [ref("parameters", "CommentId"), ref("parameters", "EditToken")]
    window = DEFAULTS["PARLEY_EDIT_WINDOW"] // 60
    personal = f"Personal: never cached (`Cache-Control: no-store`, `Vary: {VISITOR}`)."
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
            "Post a comment, a reply or a review",
            "Creates the page with its first comment. The answer holds the edit "
            "token: nothing else shows it. Posts are rate-limited per client address. A review "
            f"(`rating` given) needs the `{VISITOR}` header.",
            answer("Stored.", "Posted", "201")
            | answer(
                "A retry: the same author sent the same text to the same page within "
                f"{DEFAULTS['PARLEY_DUPLICATE_WINDOW'] // 60} minutes. Nothing new is stored; "
                "the answer is the comment stored first, with its edit token.",
                "Posted",
            ),
            parameters=[site, page, maybe_key],
            body="NewComment",
            errors=(*BODY_ERRORS, "403", "429"),
            codes={
                "400": WITH_VISITOR,
                "403": (
                    *ORIGIN,
                    "bad_form_token",
                    "form_expired",
                    "bad_visitor",
                    "ratings_closed",
                    "comments_closed",
                    "banned",
                ),
            },
        ),
    }
    comment = {
        "patch": operation(
            "editComment",
            "Edit a comment's text or its review's rating",
            f"By its author, with the edit token, within the site's edit window "
            f"({window} minutes by default).",
            answer("Edited.", "Edited"),
            parameters=[*one, maybe_key],
            body="CommentEdit",
            errors=(*BODY_ERRORS, "403"),
            codes={
                "400": ("malformed_json", "visitor_required"),
                "403": (
                    *ORIGIN,
                    "bad_edit_token",
                    "edit_window_closed",
                    "bad_visitor",
                    "ratings_closed",
                ),
                "404": ("not_found",),
            },
        ),
        "delete": operation(
            "deleteComment",
            "Delete a comment",
            "By its author, with the edit token, within the edit window. Name, "
            "email and text are removed, not hidden; an empty placeholder "
            "stays only while replies hang from it. A review's rating goes with it.",
            {"204": {"description": "Deleted."}},
            parameters=one,
            errors=("403", "404", "503"),
            codes={
                "403": (*ORIGIN, "bad_edit_token", "edit_window_closed"),
                "404": ("not_found",),
            },
        ),
    }
    like_codes: dict[str, tuple[str, ...]] = {
        "400": ("visitor_required",),
        "403": (*ORIGIN, "bad_visitor"),
        "404": ("not_found",),
    }
    like = {
        method: operation(
            op_id,
            summary,
            "One like per visitor; repeating the call changes nothing. Only a published "
            f"comment can be liked (else 404). {personal}",
            answer("The comment's likes and this visitor's like.", "LikeState"),
            tag="likes",
            parameters=[ref("parameters", "CommentId"), key],
            errors=("400", "403", "404", "503"),
            codes=like_codes,
        )
        for method, op_id, summary in (
            ("put", "likeComment", "Like a comment"),
            ("delete", "unlikeComment", "Take a like back"),
        )
    }
    rating_codes: dict[str, tuple[str, ...]] = {
        "400": WITH_VISITOR,
        "403": (*ORIGIN, "bad_visitor"),
        "404": ("site_not_found",),
    }
    ratings = {
        "get": operation(
            "getRating",
            "A page's rating",
            "The votes' count, average and histogram, the owner's editorial scores, and "
            f"(with a key) this visitor's own vote. A page nobody rated reads as empty. {personal}",
            answer("The rating.", "RatingSummary"),
            tag="ratings",
            parameters=[site, page, maybe_key],
            errors=(*READ_ERRORS, "403"),
            codes={
                "400": ("invalid_query",),
                "403": ("bad_visitor",),
                "404": ("site_not_found",),
            },
        ),
        "put": operation(
            "putRating",
            "Vote, or change the vote",
            "The visitor's one vote for the page: a second PUT changes it (a review's "
            "rating included). Nothing is stored when the value is refused. Creates the "
            f"page. {personal}",
            answer("The rating with this vote.", "RatingSummary"),
            tag="ratings",
            parameters=[site, page, key],
            body="Vote",
            errors=(*BODY_ERRORS, "403"),
            codes=rating_codes | {"403": (*ORIGIN, "bad_visitor", "ratings_closed")},
        ),
        "delete": operation(
            "deleteRating",
            "Take the vote back",
            "Repeating it changes nothing. A review stays, as a comment without a rating. "
            f"{personal}",
            answer("The rating without this vote.", "RatingSummary"),
            tag="ratings",
            parameters=[site, page, key],
            errors=("400", "403", "404", "503"),
            codes=rating_codes | {"400": ("invalid_query", "visitor_required")},
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
        "/api/v1/comments/{id}/like": like,
        "/api/v1/likes": {
            "get": operation(
                "myLikes",
                "What this visitor likes on a page",
                "Personal state for the widget, which shows the same thread to everyone. "
                + personal,
                answer("The comments liked.", "Likes"),
                tag="likes",
                parameters=[site, page, key],
                errors=("400", "403", "404", "503"),
                codes={
                    "400": ("invalid_query", "visitor_required"),
                    "403": ("bad_visitor",),
                    "404": ("site_not_found",),
                },
            )
        },
        "/api/v1/ratings": ratings,
        "/api/v1/visitors": {
            "post": operation(
                "issueVisitor",
                "A new visitor key",
                "A signed key for votes, likes and reviews. Keep it (the widget keeps it in "
                "the host page's storage) and send it in the "
                f"`{VISITOR}` header; clients never invent one. Issuing is rate-limited per "
                "client address.",
                answer("Issued.", "Visitor", "201"),
                tag="visitors",
                parameters=[ref("parameters", "VisitorSite")],
                errors=("403", "429", "503"),
            )
        },
        "/api/v1/counts": {
            "post": operation(
                "countComments",
                "Counts for many pages",
                "For listing pages that show a count next to each link.",
                answer("The counts.", "Counts"),
                tag="counts",
                parameters=[site],
                body="CountsRequest",
                errors=(*BODY_ERRORS, "403"),
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


DESCRIPTION = f"""\
Comments, ratings and likes for any web page. Every call names a site and a page with the
query parameters `site` (default `default`) and `page` (the page id the embed gives).

Votes, likes and reviews need a visitor key: get one from `POST /api/v1/visitors`, keep it,
and send it in the `{VISITOR}` header (missing: 400 `visitor_required`; not a key this
service issued: 403 `bad_visitor`). Answers that depend on the key are never cached.

Bodies are JSON objects (`Content-Type: application/json`); unknown fields are refused.
Every error is JSON, `{{"error": {{"code", "message", "fields"}}}}`, with 400 (malformed, or
no visitor key), 403 (origin, token, visitor key, closed), 404, 405 (method not allowed,
with `Allow`), 413 (too large), 415 (not JSON), 422 (invalid fields), 429 (rate limit, with
`Retry-After`) or 503 (storage busy or down, with `Retry-After`). Nothing a client sends
produces a 500.

A browser's write (POST, PUT, PATCH, DELETE) whose `Origin` is neither one of the site's
allowed origins nor the service's own is refused with 403 `origin_not_allowed`, and one
marked cross-site (`Sec-Fetch-Site`) without an `Origin` with 403 `cross_site`. A client that
sends neither header is not a browser: it is allowed, under rate limits and the site's
moderation policy.
"""


@cache
def _document() -> Json:
    responses = {name: failure(status, codes) for status, (name, _, codes) in ERRORS.items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley", "version": "1", "description": DESCRIPTION},
        "tags": [
            {"name": "comments", "description": "Threads; posting, editing, deleting."},
            {"name": "ratings", "description": "Votes, their summary and editorial scores."},
            {"name": "likes", "description": "Likes on comments."},
            {"name": "visitors", "description": "Visitor keys for votes, likes and reviews."},
            {"name": "counts", "description": "Comment and rating counts for listing pages."},
            {"name": "widget", "description": "Helpers for the embedded widget."},
            {"name": "service", "description": "The service itself."},
        ],
        "paths": _paths(),
        "components": {
            "schemas": _comment_schemas() | _rating_schemas() | _other_schemas(),
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

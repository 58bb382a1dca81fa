"""The schemas of what the web takes and gives: one pydantic model per request body, per
group of parameters and per answer body. The JSON API's views and the standalone page's form
validate with them, and the OpenAPI document is written from them
(``service.web.api.openapi``), so validation and document cannot drift.

Each request field carries a ``Rule``: the function that checks it (from
``service.rules.validation``, or the domain's for a vote), run on the value exactly as sent,
and, right beside it, the field's documented JSON schema. Where the rule is more forgiving
or stricter than JSON Schema can say, the description says so. Patterns are ECMA-262
regular expressions that read the same in Python. Answer bodies are plain pydantic models.
Bounds come from ``service.data.bounds``. A declarative module: longer than most, on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import pydantic
from flask_babel import lazy_gettext as _l
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import CoreSchema as Core
from pydantic_core import PydanticCustomError, core_schema

from service.comments import reports
from service.config import DEFAULTS
from service.data import bounds
from service.data.bounds import (
    COUNT_GET_PAGES,
    COUNT_GET_URL_MAX,
    EDITORIAL_SCALES,
    LABEL_MAX,
    MAX_COUNT_PAGES,
    MAX_ID,
    NAME_MAX,
    PAGE_KEY_MAX,
    PAGE_SIZE_MAX,
    RATING_SCALES,
    SITE_KEY_MAX,
    SORTS,
    TITLE_MAX,
    URL_MAX,
    VISITOR_KEY_MAX,
    WEBSITE_MAX,
)
from service.ratings import votes
from service.rules import validation, visitors
from service.rules.errors import INVALID_MESSAGE, DomainError, ValidationError
from service.rules.validation import CommentInput, EditInput
from service.web.requests import EDIT_TOKEN_HEADER

Json = dict[str, Any]
M = TypeVar("M", bound=BaseModel)
VISITOR = visitors.HEADER

NAME_CONTROL = r"\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # control characters that are not spaces
TEXT_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # all but tab and line breaks
# Characters every reader sees: ASCII and Latin letters, digits and punctuation, Cyrillic,
# kana, CJK ideographs and Hangul. Any visible character counts; these surely do.
VISIBLE = (
    r"!-~\u00a1-\u00ac\u00ae-\u024f\u0400-\u0482\u048a-\u04ff"
    r"\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fa5\uac00-\ud7a3"
)
# An absolute http(s) URL with a host name and no user info, or nothing: what surely passes
# as sent (IP addresses, international names and characters it percent-encodes pass too,
# see WEBSITE_IS). A host is dot-separated labels of letters, digits and inner hyphens (at
# most 63), the last starting with a letter; the rest holds only what stays raw.
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
WEBSITE = (
    rf"^(?:https?://(?:{HOST_LABEL}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    r"(?::[1-9][0-9]{0,3})?(?:[/?#](?:[!$&(-;=?-Z_a-z~]|%[0-9A-Fa-f]{2})*)?)?$"
)
ID: Json = {"minimum": 1, "maximum": bounds.MAX_ID}
# Votes and ratings: the service refuses `3.0`, which JSON Schema counts as an integer.
WHOLE = "A whole number written as one (`3`, not `3.0`)"
SCALE = "the site's scale (" + " or ".join(map(str, bounds.RATING_SCALES)) + ")"
LENIENT = (
    " Lenient where JSON Schema cannot say it: surrounding whitespace does not count towards "
    "the length, and any visible character counts where the pattern lists the common ones."
)


def of(type_: str | list[str], description: str = "", **keywords: Any) -> Json:
    """A JSON schema of one JSON type, with its description and keywords."""
    schema: Json = {"type": type_, **keywords}
    if description:
        schema["description"] = description
    return schema


def maybe(type_: str, description: str = "", **keywords: Any) -> Json:
    """A schema that also allows null (an optional field sent as null counts as omitted)."""
    return of([type_, "null"], description, **keywords)


def visible_text(limit: int, refused: str, description: str) -> Json:
    """Free text: at most ``limit`` characters, something visible, none of ``refused``."""
    pattern = f"^[^{refused}]*[{VISIBLE}][^{refused}]*$"
    return of("string", description, minLength=1, maxLength=limit, pattern=pattern)


def refused(error: DomainError) -> PydanticCustomError:
    """A rule's refusal, carried through pydantic unchanged (``refusal`` takes it out)."""
    return PydanticCustomError("refused", "{message}", {"message": error.message, "error": error})


@dataclass(frozen=True, eq=False)
class Rule:
    """A field's rule and, right beside it, the field's documented JSON schema.

    ``check`` gets the value exactly as the client sent it (no coercion: ``true`` is not 1)
    and raises ``DomainError`` to refuse; with ``context`` it also gets that entry of the
    validation context (a site's scale, the configured page size).
    """

    check: Callable[..., Any]
    schema: Json
    context: str | None = None
    collects: ClassVar[bool] = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Core:
        return core_schema.with_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, core: Core, handler: GetJsonSchemaHandler) -> Json:
        return dict(self.schema)

    def validate(self, value: Any, info: core_schema.ValidationInfo) -> Any:
        errors: dict[str, str] = {}
        extra = [errors] if self.collects else []
        if self.context is not None:
            extra.append((info.context or {})[self.context])
        try:
            cleaned = self.check(value, *extra)
            if errors:
                raise ValidationError(errors)
        except DomainError as error:
            raise refused(error) from None
        return cleaned


class FieldRule(Rule):
    """A ``Rule`` whose check records its message under the field's name, as the body rules
    do (``clean_name(value, errors)``)."""

    collects: ClassVar[bool] = True


def refusal(error: pydantic.ValidationError) -> DomainError:
    """The service's answer to what a model refused: the field rules' messages gathered
    into one ``validation_failed``; any other refusal (a query parameter's, a body's unknown
    fields, an empty edit) as its rule raised it, the first one found."""
    fields: dict[str, str] = {}
    for problem in error.errors():
        found = (problem.get("ctx") or {}).get("error")
        if isinstance(found, ValidationError) and problem["loc"]:
            fields.update(found.fields)
        elif isinstance(found, DomainError):
            return found
        elif problem["type"] == "missing":
            fields[str(problem["loc"][0])] = validation.REQUIRED
        else:  # a field declared without its rule
            fields[".".join(map(str, problem["loc"])) or "body"] = problem["msg"]
    return ValidationError(fields)


def validated(model: type[M], data: Any, **context: Any) -> M:
    """``data`` validated by ``model``, or the service's refusal (a ``DomainError``)."""
    try:
        return model.model_validate(data, context=context)
    except pydantic.ValidationError as error:
        raise refusal(error) from None


class Body(BaseModel):
    """A JSON body: a closed object whose every field carries its own rule. Unknown fields are
    refused first, alone and by name (cut short, at most ``unknown_at_most``), worded as each
    body always has (``unknown_message``; ``unknown_with_missing``: missing ones named too).
    With ``missing_is_null`` an absent field is checked as null: its rule says it is needed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unknown_message: ClassVar[str] = _l("The request has fields this service does not accept.")
    unknown_at_most: ClassVar[int | None] = 20
    unknown_with_missing: ClassVar[bool] = False
    missing_is_null: ClassVar[bool] = False

    @pydantic.model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        required = [name for name, field in cls.model_fields.items() if field.is_required()]
        unknown = sorted(name for name in data if name not in cls.model_fields)
        if unknown:
            fields = {name[:64]: _l("Unknown field.") for name in unknown[: cls.unknown_at_most]}
            if cls.unknown_with_missing:
                fields |= {name: validation.REQUIRED for name in required if name not in data}
            raise refused(ValidationError(fields, cls.unknown_message))
        return dict.fromkeys(required) | dict(data) if cls.missing_is_null else data


# --- Request bodies: the new comment -------------------------------------------------
TEXT_IS = (
    f"The comment in markdown (raw HTML is not rendered): 1 to {bounds.TEXT_MAX} characters "
    "once surrounding whitespace is trimmed, something visible, no control characters "
    "besides tab and line breaks." + LENIENT
)
TEXT = FieldRule(validation.clean_text, visible_text(bounds.TEXT_MAX, TEXT_CONTROL, TEXT_IS))
NAME_IS = (
    f"The name shown with the comment: 1 to {bounds.NAME_MAX} characters once surrounding "
    "whitespace is trimmed and inner runs of whitespace became one space, something visible, "
    "no control characters. Characters that reorder or hide text are removed: bidirectional "
    "embeddings, overrides and isolates (U+202A to U+202E, U+2066 to U+2069), zero-width "
    "space (U+200B), word joiner (U+2060), byte-order mark (U+FEFF) and tag characters "
    "(U+E0000 to U+E007F); zero-width joiners and non-joiners (U+200D, U+200C) stay only "
    "between letters, marks or emoji." + LENIENT
)
EMAIL_IS = (
    "The author's email address: stored encrypted, never published. Surrounding whitespace "
    "is trimmed; the address is checked as mail software reads it, which takes some "
    "addresses JSON Schema's `email` format does not."
)
WEBSITE_IS = (
    "The author's website, an http(s) URL without user info. Without a scheme (`example.org`)"
    " `https://` is assumed, surrounding whitespace is trimmed; empty means none. The host "
    "must be a domain name with at least one dot, an IPv4 address or a bracketed IPv6 one; "
    "international names are taken and stored in their ASCII (IDNA) form. Stored normalised: "
    "scheme and host in lower case, a default port dropped, and every character a URL must "
    "not hold raw (spaces, quotes, angle brackets, non-ASCII) percent-encoded; refused (422) "
    f"when it cannot be such a URL of at most {bounds.WEBSITE_MAX} characters."
)
PARENT_IS = (
    f"Reply to this published comment on the same page (else 422). {WHOLE}. Replies deeper "
    f"than {DEFAULTS['PARLEY_MAX_DEPTH']} levels attach at the deepest level."
)
RATING_IS = (
    "Makes the comment a review: its rating of the page becomes the visitor's one rating "
    "there (replacing an earlier vote), counted while the comment is published. While the "
    "comment waits for moderation the earlier vote keeps counting and the rating waits "
    "beside it (`yours_pending` of GET /api/v1/ratings); spam or deletion drops it. Needs the "
    f"`{VISITOR}` header (400 `visitor_required` without it). {WHOLE} from 1 to {SCALE}, "
    "else 422; 403 `ratings_closed` where the page takes no votes."
)
TITLE_IS = (
    "The page's title, kept when this comment creates the page and `url` is on the site's "
    f"origins; cut to {bounds.TITLE_MAX} characters."
)
URL_IS = (
    f"The page's absolute http(s) URL, kept like `title` (at most {bounds.URL_MAX} "
    "characters); anything else is ignored."
)
TOKEN_IS = (
    "The widget form's token (`GET /api/v1/form-token`). A browser's post (an `Origin` or "
    "`Sec-Fetch-Site` header) must bring it (else 403 `bad_form_token`), as must a post "
    "without an API token where the site refuses posts without one; a client with an API "
    "token (`Authorization: Bearer`) omits it. A post with neither is held for moderation by "
    "default (`PARLEY_TOKENLESS_POSTS`, and the site's own setting)."
)


def optional(field: str) -> partial[str | None]:
    return partial(validation.clean_string, field)


class NewComment(Body):
    """A new comment, reply or review: the API's body and the standalone page's form."""

    missing_is_null: ClassVar[bool] = True  # `name`, `email`, `text` say they are required

    name: Annotated[
        str, FieldRule(validation.clean_name, visible_text(bounds.NAME_MAX, NAME_CONTROL, NAME_IS))
    ]
    email: Annotated[
        str,
        FieldRule(
            validation.clean_email,
            of("string", EMAIL_IS, format="email", maxLength=bounds.EMAIL_MAX),
        ),
    ]
    text: Annotated[str, TEXT]
    website: Annotated[
        str | None,
        FieldRule(
            validation.clean_website,
            maybe("string", WEBSITE_IS, maxLength=bounds.WEBSITE_MAX, pattern=WEBSITE),
        ),
    ] = None
    parent: Annotated[
        int | None,
        FieldRule(partial(validation.clean_id, "parent"), maybe("integer", PARENT_IS, **ID)),
    ] = None
    rating: Annotated[
        int | None,
        FieldRule(
            validation.clean_rating,
            maybe("integer", RATING_IS, minimum=1, maximum=max(bounds.RATING_SCALES)),
        ),
    ] = None
    notify: Annotated[
        bool,
        FieldRule(
            partial(validation.clean_bool, "notify"),
            maybe("boolean", "Email the author about replies (default false)."),
        ),
    ] = False
    title: Annotated[
        str | None, FieldRule(validation.clean_page_title, maybe("string", TITLE_IS))
    ] = None
    url: Annotated[str | None, FieldRule(validation.clean_page_url, maybe("string", URL_IS))] = None
    form_token: Annotated[
        str | None, FieldRule(optional("form_token"), maybe("string", TOKEN_IS))
    ] = None
    hp: Annotated[
        str | None,
        FieldRule(
            optional("hp"),
            maybe("string", "The widget's honeypot: leave it empty (else 422).", maxLength=0),
        ),
    ] = None

    def as_input(self) -> CommentInput:
        """What the domain posts."""
        return CommentInput(**dict(self))


REASON_IS = (
    "Why the comment should be looked at, for the site's moderators only (never shown "
    f"publicly): plain text, at most {bounds.REPORT_REASON_MAX} characters once hidden and "
    "control characters are removed and whitespace is collapsed to single spaces; empty is "
    "allowed."
)


class ReportBody(Body):
    """A reader's report of a comment."""

    missing_is_null: ClassVar[bool] = True  # `reason` says it is required

    reason: Annotated[
        str,
        FieldRule(
            reports.clean_reason,
            of("string", REASON_IS, maxLength=bounds.REPORT_REASON_MAX),
        ),
    ]


# Characters Python's str.split()/str.strip() treat as whitespace: the service trims them.
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
CONTROL = r"\x00-\x1f\x7f-\x9f"  # Unicode category Cc
# Neither whitespace nor a control character.
SOLID = r"[^\x00- \x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TOP = max(RATING_SCALES)
EMPTY = " An empty value counts as omitted."
# A visitor key as the service issues it: a signed random id in URL-safe base64.
VISITOR_KEY = "[A-Za-z0-9_.-]"
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0)]


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


def visitor_key(required: bool) -> Json:
    return of(
        "string",
        "Opaque: letters, digits, `-`, `_` and `.`.",
        maxLength=VISITOR_KEY_MAX,
        pattern=f"^{VISITOR_KEY}{'+' if required else '*'}$",
    )


# --- Parameters -------------------------------------------------------------------------
class Parameters(BaseModel):
    """Parameters in one place of a request (``location``). Each field is one: named by its
    ``validation_alias``, else its name; its description is the parameter's, its type's
    schema the value's; its ``title``, else its name capitalised, names its component."""

    model_config = ConfigDict(frozen=True)
    location: ClassVar[str]

    @classmethod
    def names(cls) -> dict[str, str]:
        """Each field's name in the request, by field name."""
        fields = cls.model_fields.items()
        return {name: str(field.validation_alias or name) for name, field in fields}


class SiteQuery(Parameters):
    location: ClassVar[str] = "query"

    site: Annotated[str, Rule(validation.site_key, key(SITE_KEY_MAX, "A site key"))] = Field(
        "default", description="The site (default `default`)."
    )
    lang: Annotated[str | None, Rule(lambda value: value or None, of("string"))] = Field(
        None,
        description="The language of messages for people (`en`, `ar`, `de`, `es`, `ta`; "
        "`de-AT` is read as `de`). Without it, or when the service does not speak it, the "
        "site's language setting applies, then English: docs/languages.md.",
    )


class PageQuery(SiteQuery):
    page: Annotated[
        str,
        Rule(validation.page_key, key(PAGE_KEY_MAX, "A page id") | {"examples": ["/anime/lumen"]}),
    ] = Field(description="The page id the embed gives, e.g. `/anime/lumen`.")


def _limit(value: str | None, page_size: int) -> int:
    return validation.query_int("limit", value, page_size, 1, PAGE_SIZE_MAX)


def _parent(value: str | None) -> int | None:
    return validation.query_int("parent", value, 0, 0, MAX_ID) or None


def _given(value: str | None) -> str | None:
    return value or None


class ThreadQuery(PageQuery):
    sort: Annotated[
        str,
        Rule(
            partial(validation.query_choice, "sort", choices=SORTS), of("string", enum=list(SORTS))
        ),
    ] = Field(
        SORTS[0],
        description="Order of the comments: `oldest` or `newest` first, or `top` (most liked "
        "first). Replies are always oldest first." + EMPTY,
    )
    cursor: Annotated[str | None, Rule(_given, of("string"))] = Field(
        None,
        description="The `next` value of the previous answer, with the same sort (else 400: "
        "a cursor this service did not make is refused)." + EMPTY,
    )
    limit: Annotated[
        int,
        Rule(_limit, of("integer", minimum=1, maximum=PAGE_SIZE_MAX), context="page_size"),
    ] = Field(DEFAULTS["PARLEY_PAGE_SIZE"], description="How many comments to answer with." + EMPTY)
    parent: Annotated[int | None, Rule(_parent, of("integer", minimum=0, maximum=MAX_ID))] = Field(
        0, description="List the replies of this comment instead (0: top level)." + EMPTY
    )


def _count_pages(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > COUNT_GET_PAGES:
        message = _l("Ask for at most %(max)s pages per GET.", max=COUNT_GET_PAGES)
        raise DomainError("uri_too_long", message)
    return list(dict.fromkeys(validation.page_key(item) for item in value))


class CountsQuery(SiteQuery):
    page: Annotated[
        list[str],
        Rule(
            _count_pages,
            of(
                "array",
                maxItems=COUNT_GET_PAGES,
                items=key(PAGE_KEY_MAX, "A page id") | {"examples": ["/anime/lumen"]},
            ),
        ),
    ] = Field(
        [],
        title="CountPages",
        description=f"A page id, repeated for each page: `page=A&page=B`, up to "
        f"{COUNT_GET_PAGES} (each trimmed; a repeated one counts once). More than "
        f"{COUNT_GET_PAGES}, or a URL over {COUNT_GET_URL_MAX:,} bytes (path and query), is "
        "414 `uri_too_long`: send that batch with `POST /api/v1/counts`.",
    )


class VisitorsQuery(SiteQuery):
    site: Annotated[str, Rule(validation.site_key, key(SITE_KEY_MAX, "A site key"))] = Field(
        "default",
        title="VisitorSite",
        description="The site the key is for (default `default`): votes, likes and reviews "
        "take it on that site only (elsewhere 403 `bad_visitor`).",
    )


# Reading a visitor header needs the site the key is used on: ``site_id`` in the context.
class VisitorHeader(Parameters):
    location: ClassVar[str] = "header"

    visitor: Annotated[str, Rule(visitors.visitor_hash, visitor_key(True), context="site_id")] = (
        Field(
            validation_alias=VISITOR,
            title="Visitor",
            description="A visitor key from `POST /api/v1/visitors?site=` this site "
            "(missing: 400 `visitor_required`; not a key this service issued, or another "
            "site's: 403 `bad_visitor`; keys issued before keys named their site count on "
            "every site).",
        )
    )


class MaybeVisitorHeader(Parameters):
    location: ClassVar[str] = "header"

    visitor: Annotated[
        str | None,
        Rule(visitors.optional_visitor_hash, visitor_key(False), context="site_id"),
    ] = Field(
        None,
        validation_alias=VISITOR,
        title="MaybeVisitor",
        description="A visitor key from `POST /api/v1/visitors?site=` this site (an empty "
        "value counts as omitted; a key this service did not issue, or another site's: 403 "
        "`bad_visitor`).",
    )


class EditTokenHeader(Parameters):
    location: ClassVar[str] = "header"

    token: Annotated[str | None, WithJsonSchema(of("string", minLength=1))] = Field(
        validation_alias=EDIT_TOKEN_HEADER,
        title="EditToken",
        description="The comment's `edit_token` (missing or wrong: 403).",
    )


class MaybeEditTokenHeader(Parameters):
    location: ClassVar[str] = "header"

    token: Annotated[str | None, WithJsonSchema(of("string"))] = Field(
        None,
        validation_alias=EDIT_TOKEN_HEADER,
        title="MaybeEditToken",
        description="On a repeated post: the first comment's `edit_token`, which proves the "
        "caller is its author (as the same visitor key does), so the answer is 200 with that "
        "comment rather than 409 `duplicate`.",
    )


class CommentPath(Parameters):
    location: ClassVar[str] = "path"

    comment_id: Annotated[int, WithJsonSchema(of("integer", **ID))] = Field(
        validation_alias="id", title="CommentId", description="The comment's id."
    )


# --- Request bodies: edits, votes, counts ---------------------------------------------
class CommentEdit(Body):
    """New text, a new rating, or both: at least one."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    text: Annotated[str | None, TEXT] = None
    rating: Annotated[
        int | None,
        FieldRule(
            partial(validation.clean_rating, required=True),
            of(
                "integer",
                f"The review's new rating: {WHOLE.lower()} from 1 to {SCALE}; else 422 (null "
                "too). Given to a comment that is not yet a review, it makes it one for the "
                f"visitor whose key comes in `{VISITOR}` (400 `visitor_required` without it).",
                minimum=1,
                maximum=TOP,
            ),
        ),
    ] = None

    @model_validator(mode="after")
    def _a_change(self) -> CommentEdit:
        if not self.model_fields_set:
            change = {"text": _l("Send the new text, the new rating, or both.")}
            raise refused(ValidationError(change))
        return self

    def as_input(self) -> EditInput:
        return EditInput(text=self.text, rating=self.rating)


class Vote(Body):
    # Unknown fields are answered as they always were here: with the missing value, if any.
    unknown_message: ClassVar[str] = INVALID_MESSAGE
    unknown_at_most: ClassVar[int | None] = None
    unknown_with_missing: ClassVar[bool] = True

    value: Annotated[
        int,
        Rule(
            votes.clean_value,
            of(
                "integer",
                f"{WHOLE} from 1 to {SCALE}; anything else is 422 and nothing is stored.",
                minimum=1,
                maximum=TOP,
            ),
            context="scale",
        ),
    ]


class CountsRequest(Body):
    unknown_message: ClassVar[str] = INVALID_MESSAGE
    unknown_at_most: ClassVar[int | None] = None
    missing_is_null: ClassVar[bool] = True

    pages: Annotated[
        list[str],
        Rule(
            partial(validation.page_keys, limit=MAX_COUNT_PAGES),
            of(
                "array",
                f"Up to {MAX_COUNT_PAGES} page ids (each trimmed; a repeated one counts once).",
                maxItems=MAX_COUNT_PAGES,
                items=key(PAGE_KEY_MAX, "A page id"),
            ),
        ),
    ]


# --- Answer bodies ----------------------------------------------------------------------
class AnswerBody(BaseModel):
    """An answer's body: every field always there (null where it may be)."""

    model_config = ConfigDict(extra="forbid")


class Comment(AnswerBody):
    """A published comment. It never carries an email address."""

    id: Id
    parent: Id | None = Field(description="The comment this one replies to; null at the top.")
    author: Annotated[str, Field(max_length=NAME_MAX)] | None = Field(
        description="The name shown; null once deleted."
    )
    website: Annotated[str, Field(max_length=WEBSITE_MAX)] | None = Field(
        description="The author's http(s) website."
    )
    avatar: str | None = Field(
        description="URL of an identicon drawn from a keyed hash of the email (never the "
        "email, nor a hash anyone could compute); null once deleted.",
        json_schema_extra={"format": "uri"},
    )
    html: str = Field(
        description="The text rendered from markdown and sanitised; empty once deleted."
    )
    created: datetime = Field(description="When it was posted (UTC).")
    edited: datetime | None = Field(description="When its author last edited it (UTC).")
    likes: Count
    rating: Annotated[int, Field(ge=1, le=TOP)] | None = Field(
        description="The author's rating of the page when the comment is a review."
    )
    moderator: bool = Field(description="Posted by one of the site's moderators.")
    pinned: bool = Field(
        description="Pinned by a moderator: shown first, at the top of the thread's first page "
        f"only (at most {bounds.PINS_MAX} per page), and not again on later pages."
    )
    deleted: bool = Field(
        description="A deleted comment stays, emptied, only while replies hang from it."
    )
    replies: list[Comment] = Field(
        description="Replies shown under it, oldest first, at most "
        f"{DEFAULTS['PARLEY_REPLIES_PER_PARENT']} per comment by default."
    )
    more_replies: Count = Field(
        description="Replies not shown here: list them with `parent` set to this comment's id."
    )
    replies_cursor: str | None = Field(
        description="Where the replies not shown start: `GET /api/v1/comments?parent=<id>"
        "&cursor=<this>`; null when every reply is shown."
    )


class Posted(AnswerBody):
    comment: Comment
    status: Literal["approved", "pending"] = Field(
        description="`pending` when the site moderates comments first."
    )
    edit_token: str = Field(
        min_length=32,
        description="Lets the author edit or delete the comment (header `X-Parley-Edit-Token`); "
        "given only in this answer (and again to its author's retry of the same post).",
    )


class Edited(AnswerBody):
    comment: Comment


class Page(AnswerBody):
    """The page of a thread. Title and URL are known once a comment brought them from one of
    the site's origins."""

    id: str = Field(description="The page id, trimmed.")
    title: Annotated[str, Field(max_length=TITLE_MAX)] | None
    url: Annotated[str, Field(max_length=URL_MAX)] | None
    comment_count: Count = Field(description="Published comments and replies.")


class Thread(AnswerBody):
    page: Page
    comments: list[Comment]
    next: str | None = Field(description="Cursor to the next comments; null at the end.")


class PageCounts(AnswerBody):
    comments: Count = Field(description="Published comments on the page.")
    rating_count: Count = Field(description="Visitors who rated the page.")
    rating_average: Annotated[float, Field(ge=1, le=TOP)] | None = Field(
        description="Their average rating, or null."
    )


class Counts(AnswerBody):
    counts: dict[str, PageCounts] = Field(
        description="One entry per page id asked for (trimmed); pages nobody commented on or "
        "rated count 0."
    )


class FormToken(AnswerBody):
    form_token: str = Field(min_length=1, description="Send it back as `form_token`.")


class Health(AnswerBody):
    status: Literal["ok", "unavailable"]


class ErrorDetail(AnswerBody):
    code: str = Field(pattern="^[a-z][a-z_]*$", description="Stable, machine-readable code.")
    message: str = Field(description="What went wrong, for a person.")
    fields: dict[str, str] = Field(
        description="A message per invalid field or parameter (else empty)."
    )


class Error(AnswerBody):
    """Every error an API caller gets."""

    error: ErrorDetail


class Visitor(AnswerBody):
    visitor: str = Field(
        min_length=1,
        max_length=VISITOR_KEY_MAX,
        pattern=f"^{VISITOR_KEY}+$",
        description=f"The key: keep it and send it in the `{VISITOR}` header.",
    )


class EditorialScore(AnswerBody):
    label: str = Field(max_length=LABEL_MAX, description="Where the score comes from, e.g. `IMDB`.")
    score: float = Field(
        ge=0, le=max(EDITORIAL_SCALES), description="On its own scale, one decimal."
    )
    scale: int = Field(json_schema_extra={"enum": list(EDITORIAL_SCALES)})
    url: Annotated[str, Field(max_length=URL_MAX)] | None = Field(
        description="Where the score is published."
    )


def _box_rules() -> Json:
    """The Final Summary's average is on its scale."""
    return {
        "allOf": [
            {
                "if": {"properties": {"scale": {"const": scale}}},
                "then": {"properties": {"average": {"maximum": scale}}},
            }
            for scale in EDITORIAL_SCALES
        ]
    }


class Editorial(AnswerBody):
    """The owner's own scores: shown beside the visitors' rating, never mixed into it."""

    model_config = ConfigDict(json_schema_extra=_box_rules())

    items: list[EditorialScore]
    scale: Annotated[int, Field(json_schema_extra={"enum": list(EDITORIAL_SCALES)})] | None = Field(
        description="The Final Summary's scale: the scores' own when they share one; where "
        "they differ, the one the site's owner chose for the page, else the largest of "
        "theirs. Null without scores."
    )
    average: Annotated[float, Field(ge=0, le=max(EDITORIAL_SCALES))] | None = Field(
        description="The mean of the scores normalised to `scale`, one decimal, halves "
        "rounded up; null without scores."
    )


def _scale_rules() -> Json:
    """Values run from 1 to the scale: the histogram has exactly those keys."""
    return {
        "allOf": [
            {
                "if": {"properties": {"scale": {"const": scale}}},
                "then": {
                    "properties": {
                        "histogram": {"required": [str(v) for v in range(1, scale + 1)]}
                        | {"maxProperties": scale},
                        "average": {"maximum": scale},
                        "yours": {"maximum": scale},
                        "yours_pending": {"maximum": scale},
                    }
                },
            }
            for scale in RATING_SCALES
        ]
    }


class RatingSummary(AnswerBody):
    """A page's rating: what visitors voted, and what the owner scored."""

    model_config = ConfigDict(json_schema_extra=_scale_rules())

    scale: int = Field(
        description="The site's scale: votes go from 1 to it.",
        json_schema_extra={"enum": list(RATING_SCALES)},
    )
    count: Count = Field(description="Votes counted (published reviews included).")
    average: Annotated[float, Field(ge=1, le=TOP)] | None = Field(
        description="Their average, one decimal; null without votes."
    )
    histogram: Annotated[
        dict[str, int],
        WithJsonSchema(
            of(
                "object",
                'Votes per value: one entry for each value from `"1"` to the scale.',
                propertyNames={"pattern": "^(?:[1-9]|10)$"},
                additionalProperties=of("integer", minimum=0),
                minProperties=min(RATING_SCALES),
                maxProperties=TOP,
            )
        ),
    ]
    yours: Annotated[int, Field(ge=1, le=TOP)] | None = Field(
        description=f"The vote of the visitor whose key came in `{VISITOR}`; null without a "
        "key or a vote. While their review waits for moderation this stays their earlier "
        "vote (null without one), which keeps counting."
    )
    yours_pending: Annotated[int, Field(ge=1, le=TOP)] | None = Field(
        description="The rating of this visitor's review waiting for moderation: approved, "
        "it becomes their vote (`yours`); marked spam or deleted, it is dropped and `yours` "
        "stays. Null without a key or such a review."
    )
    editorial: Editorial
    closed: bool = Field(description="The page takes no more votes (PUT is 403).")


class LikeState(AnswerBody):
    likes: Count = Field(description="The comment's likes now.")
    liked: bool = Field(description="Whether this visitor likes it now.")


class Reported(AnswerBody):
    reported: Literal[True] = Field(
        description="The report is recorded (a repeat by the same visitor changes nothing)."
    )


class Likes(AnswerBody):
    liked: list[Id] = Field(
        description="Ids of the comments on the page this visitor likes, ascending."
    )

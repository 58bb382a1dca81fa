"""Command line for sites, pages, moderation and the blocklist:
``flask --app service site|page|comment|blocklist``.

Every command checks its values with the same rules as the admin views
(``sites.settings``, ``comments.moderation``, ``comments.blocklist``) and is audited the
same way, with no moderator and "[cli]" in the detail.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from service.comments import blocklist, moderation
from service.data import Comment, Page, Site
from service.data.bounds import (
    EDITORIAL_DEFAULT_SCALE,
    EDITORIAL_SCALES,
    MODERATION_POLICIES,
    RATING_SCALES,
    THEMES,
    TOKENLESS_POSTS,
)
from service.database import writing
from service.extensions import db
from service.ratings import summary
from service.rules.errors import DomainError
from service.sites import audit, settings
from service.sites.lookup import find_page, get_site

site_cli = AppGroup("site", help="Add, list and change sites.")
page_cli = AppGroup("page", help="Page settings: title, URL, schema.org type, editorial scores.")
comment_cli = AppGroup("comment", help="Moderate comments.")
blocklist_cli = AppGroup("blocklist", help="Words that send a comment to the queue.")

# The command line's words for moderation actions: the admin views' actions, and
# "pending" for "hold".
CLI_ACTIONS = {**{action: action for action in moderation.ACTIONS}, "pending": "hold"}


def refused(error: DomainError) -> click.ClickException:
    if error.fields:
        detail = "; ".join(f"{name}: {message}" for name, message in error.fields.items())
        return click.ClickException(detail)
    return click.ClickException(error.message)


@contextmanager
def change() -> Iterator[None]:
    """A write transaction, audited as the command line's: committed when the block ends,
    refused with the rules' words."""
    with writing(), audit.acting(audit.CLI):
        try:
            yield
        except DomainError as error:
            db.session.rollback()
            raise refused(error) from None
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()


def site_named(key: str) -> Site:
    try:
        return get_site(key)
    except DomainError as error:
        raise refused(error) from None


def _page(site_key: str, page_key: str) -> Page:
    return settings.page_for(None, site_named(site_key), page_key)


policies = click.Choice(tuple(MODERATION_POLICIES))
scales = click.Choice([str(scale) for scale in RATING_SCALES])


@site_cli.command("list")
def site_list() -> None:
    """List every site."""
    for site in db.session.scalars(sa.select(Site).order_by(Site.key)):
        click.echo(settings.describe(site))


@site_cli.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--origin", "origins", multiple=True, help="An allowed origin (repeatable).")
@click.option("--moderation", type=policies, default=None)
@click.option("--scale", type=scales, default=str(RATING_SCALES[0]))
def site_add(
    key: str, name: str, origins: tuple[str, ...], moderation: str | None, scale: str
) -> None:
    """Add a site with a key (used as data-site in the embed)."""
    with change():
        changes = settings.SiteChanges(
            name=name, origins=list(origins), moderation=moderation, rating_scale=int(scale)
        )
        site = settings.create_site(None, key, changes)
    click.echo(settings.describe(site))


@site_cli.command("set")
@click.argument("key")
@click.option("--name")
@click.option("--add-origin", multiple=True)
@click.option("--remove-origin", multiple=True)
@click.option("--moderation", type=policies)
@click.option("--link-limit", type=int, help="Under the links policy: more links than this wait.")
@click.option("--scale", type=scales)
@click.option("--rescale", is_flag=True, help="Convert existing votes to the new scale.")
@click.option("--edit-window", type=int, help="Seconds.")
@click.option("--language", help="A language tag, like en or pt-BR.")
@click.option("--theme", type=click.Choice(tuple(THEMES)))
@click.option("--notify-moderators/--no-notify-moderators", default=None)
@click.option(
    "--tokenless-posts",
    type=click.Choice([*TOKENLESS_POSTS, "default"]),
    help="Posts with neither a form token nor an API token; default: PARLEY_TOKENLESS_POSTS.",
)
def site_set(
    key: str,
    name: str | None,
    add_origin: tuple[str, ...],
    remove_origin: tuple[str, ...],
    moderation: str | None,
    link_limit: int | None,
    scale: str | None,
    rescale: bool,
    edit_window: int | None,
    language: str | None,
    theme: str | None,
    notify_moderators: bool | None,
    tokenless_posts: str | None,
) -> None:
    """Change a site's settings."""
    with change():
        site = site_named(key)
        origins = None
        if add_origin or remove_origin:
            removed = {value.strip().rstrip("/").lower() for value in remove_origin}
            origins = [o for o in [*site.origins, *add_origin] if o.lower() not in removed]
        changes = settings.SiteChanges(
            name=name,
            origins=origins,
            moderation=moderation,
            link_limit=link_limit,
            rating_scale=int(scale) if scale else None,
            rescale=rescale,
            edit_window=edit_window,
            language=language,
            theme=theme,
            notify_moderators=notify_moderators,
            tokenless_posts="" if tokenless_posts == "default" else tokenless_posts,
        )
        settings.change_site(None, site, changes)
    click.echo(settings.describe(site))


@page_cli.command("show")
@click.argument("site_key")
@click.argument("page_key")
def page_show(site_key: str, page_key: str) -> None:
    """Show a page's settings, counts and editorial scores."""
    site = site_named(site_key)
    page = find_page(site, page_key)
    if page is None:
        raise click.ClickException(f"No page {page_key!r} on site {site_key!r}.")
    shown = summary.summary(site, page, None)
    click.echo(f"{page.key}: title={page.title!r} url={page.url!r} type={page.schema_type}")
    click.echo(
        f"comments={page.comment_count} ratings={shown['count']} "
        f"average={shown['average']} closed={page.ratings_closed} "
        f"comments-closed={page.comments_closed}"
    )
    for item in shown["editorial"]["items"]:
        click.echo(f"  {item['label']}: {item['score']:g}/{item['scale']} {item['url'] or ''}")
    if shown["editorial"]["average"] is not None:
        click.echo("  editorial average: {average}/{scale}".format(**shown["editorial"]))


@page_cli.command("set")
@click.argument("site_key")
@click.argument("page_key")
@click.option("--title")
@click.option("--url")
@click.option("--type", "schema_type", help="schema.org type, e.g. Movie, TVSeries, Book.")
@click.option("--ratings/--no-ratings", "ratings_open", default=None, help="Open or close ratings.")
@click.option(
    "--comments/--no-comments", "comments_open", default=None, help="Open or close comments."
)
@click.option("--summary-scale", type=click.Choice([*map(str, EDITORIAL_SCALES), "auto"]))
def page_set(
    site_key: str,
    page_key: str,
    title: str | None,
    url: str | None,
    schema_type: str | None,
    ratings_open: bool | None,
    comments_open: bool | None,
    summary_scale: str | None,
) -> None:
    """Set a page's title, URL, schema.org type, summary scale; open or close ratings, comments."""
    with change():
        changes = settings.PageChanges(
            title=title,
            url=url,
            schema_type=schema_type,
            ratings_closed=None if ratings_open is None else not ratings_open,
            comments_closed=None if comments_open is None else not comments_open,
            editorial_scale=summary_scale,
        )
        page = _page(site_key, page_key)
        settings.change_page(None, page, changes)
        if page.schema_type and not summary.has_review_stars(page.schema_type):
            click.echo(f"Note: no rating rich results for {page.schema_type}; JSON-LD is left out.")


@page_cli.command("score")
@click.argument("site_key")
@click.argument("page_key")
@click.argument("label")
@click.argument("score")
@click.option(
    "--scale",
    type=click.Choice([str(scale) for scale in EDITORIAL_SCALES]),
    default=str(EDITORIAL_DEFAULT_SCALE),
    show_default=True,
)
@click.option("--url", help="Where the score comes from.")
def page_score(
    site_key: str, page_key: str, label: str, score: str, scale: str, url: str | None
) -> None:
    """Add or change an editorial score, e.g. `page score default /movie IMDB 5.9`."""
    with change():
        settings.set_score(None, _page(site_key, page_key), label, score, scale, url)


@page_cli.command("unscore")
@click.argument("site_key")
@click.argument("page_key")
@click.argument("label")
def page_unscore(site_key: str, page_key: str, label: str) -> None:
    """Remove an editorial score."""
    with change():
        settings.remove_score(None, _page(site_key, page_key), label)


@comment_cli.command("moderate")
@click.argument("comment_id", type=int)
@click.argument("action", type=click.Choice(tuple(CLI_ACTIONS)))
def comment_moderate(comment_id: int, action: str) -> None:
    """Approve, hold, mark as spam, delete or restore a comment; counts and ratings follow."""
    with writing(), audit.acting(audit.CLI):
        if db.session.get(Comment, comment_id) is None:
            raise click.ClickException(f"No comment {comment_id}.")
        moderation.apply(None, [comment_id], CLI_ACTIONS[action], None)
        comment = db.session.get(Comment, comment_id)
        assert comment is not None
        click.echo(f"Comment {comment_id} is {comment.status}.")


@blocklist_cli.command("list")
@click.argument("site_key", metavar="SITE")
def blocklist_list(site_key: str) -> None:
    """List a site's blocked words."""
    for entry in blocklist.words(site_named(site_key)):
        click.echo(entry.word)


@blocklist_cli.command("add")
@click.argument("site_key", metavar="SITE")
@click.argument("word")
def blocklist_add(site_key: str, word: str) -> None:
    """Hold comments with this word or phrase for review."""
    with change():
        entry = blocklist.block(None, site_named(site_key), word)
    click.echo(f"Comments with {entry.word!r} now wait for review on {site_key}.")


@blocklist_cli.command("remove")
@click.argument("site_key", metavar="SITE")
@click.argument("word")
def blocklist_remove(site_key: str, word: str) -> None:
    """Take a word or phrase off the list."""
    with change():
        site = site_named(site_key)
        entry = blocklist.find(site, word)
        if entry is None:
            raise click.ClickException(f"{word!r} is not on the list of {site_key}.")
        blocklist.unblock(None, site, entry)
    click.echo(f"{word!r} is off the list.")


COMMANDS = (site_cli, page_cli, comment_cli, blocklist_cli)

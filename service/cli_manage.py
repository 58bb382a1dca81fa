"""Command line for sites, pages and moderation: ``flask --app service site|page|comment``."""

from __future__ import annotations

import re

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from . import comments, ratings
from .database import writing
from .errors import ApiError
from .extensions import db
from .models import Comment, Page, Site
from .sites import get_or_create_page, get_site, origin_of
from .validation import clean_http_url

site_cli = AppGroup("site", help="Add, list and change sites.")
page_cli = AppGroup("page", help="Page settings: title, URL, schema.org type, editorial scores.")
comment_cli = AppGroup("comment", help="Moderate comments.")

_SCHEMA_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,39}$")


def _site(key: str) -> Site:
    try:
        return get_site(key)
    except ApiError as error:
        raise click.ClickException(error.message) from None


def _origins(values: tuple[str, ...]) -> list[str]:
    origins = []
    for value in values:
        if clean_http_url(value, 2048) is None:
            raise click.BadParameter(f"{value!r} is not an http(s) origin", param_hint="--origin")
        origins.append(origin_of(value))
    return origins


def _describe(site: Site) -> str:
    return (
        f"{site.key}: {site.name} | moderation={site.moderation} scale={site.rating_scale} "
        f"edit-window={site.edit_window}s origins={','.join(site.origins) or '-'}"
    )


@site_cli.command("list")
def site_list() -> None:
    """List every site."""
    for site in db.session.scalars(sa.select(Site).order_by(Site.key)):
        click.echo(_describe(site))


@site_cli.command("add")
@click.argument("key")
@click.option("--name", required=True)
@click.option("--origin", "origins", multiple=True, help="An allowed origin (repeatable).")
@click.option("--moderation", type=click.Choice(["none", "all"]), default=None)
@click.option("--scale", type=click.Choice(["5", "10"]), default="5")
def site_add(
    key: str, name: str, origins: tuple[str, ...], moderation: str | None, scale: str
) -> None:
    """Add a site with a key (used as data-site in the embed)."""
    from flask import current_app

    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]{0,63}", key):
        raise click.BadParameter("lower-case letters, digits, '.', '_' and '-'", param_hint="KEY")
    with writing():
        if db.session.scalar(sa.select(Site).where(Site.key == key)):
            raise click.ClickException(f"Site {key!r} exists already.")
        site = Site(
            key=key,
            name=name,
            rating_scale=int(scale),
            moderation=moderation or current_app.config["PARLEY_MODERATION"],
            edit_window=current_app.config["PARLEY_EDIT_WINDOW"],
        )
        site.origins = _origins(origins)
        db.session.add(site)
        db.session.commit()
    click.echo(_describe(site))


@site_cli.command("set")
@click.argument("key")
@click.option("--name")
@click.option("--add-origin", multiple=True)
@click.option("--remove-origin", multiple=True)
@click.option("--moderation", type=click.Choice(["none", "all"]))
@click.option("--scale", type=click.Choice(["5", "10"]))
@click.option("--rescale", is_flag=True, help="Convert existing votes to the new scale.")
@click.option("--edit-window", type=click.IntRange(0, 7 * 24 * 3600), help="Seconds.")
def site_set(
    key: str,
    name: str | None,
    add_origin: tuple[str, ...],
    remove_origin: tuple[str, ...],
    moderation: str | None,
    scale: str | None,
    rescale: bool,
    edit_window: int | None,
) -> None:
    """Change a site's settings."""
    with writing():
        site = _site(key)
        if name:
            site.name = name
        if add_origin or remove_origin:
            removed = set(_origins(remove_origin))
            site.origins = [o for o in [*site.origins, *_origins(add_origin)] if o not in removed]
        if moderation:
            site.moderation = moderation
        if edit_window is not None:
            site.edit_window = edit_window
        if scale:
            try:
                ratings.set_scale(site, int(scale), rescale=rescale)
            except ValueError as error:
                db.session.rollback()
                raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(_describe(site))


def _page(site_key: str, page_key: str) -> Page:
    site = _site(site_key)
    return get_or_create_page(site, page_key, title=None, url=None, service_origin="")


@page_cli.command("show")
@click.argument("site_key")
@click.argument("page_key")
def page_show(site_key: str, page_key: str) -> None:
    """Show a page's settings, counts and editorial scores."""
    site = _site(site_key)
    page = db.session.scalar(sa.select(Page).where(Page.site_id == site.id, Page.key == page_key))
    if page is None:
        raise click.ClickException(f"No page {page_key!r} on site {site_key!r}.")
    summary = ratings.summary(site, page, None)
    click.echo(f"{page.key}: title={page.title!r} url={page.url!r} type={page.schema_type}")
    click.echo(
        f"comments={page.comment_count} ratings={summary['count']} "
        f"average={summary['average']} closed={page.ratings_closed}"
    )
    for item in summary["editorial"]["items"]:
        click.echo(f"  {item['label']}: {item['score']:g}/{item['scale']} {item['url'] or ''}")
    if summary["editorial"]["average"] is not None:
        click.echo(f"  editorial average: {summary['editorial']['average']}/{site.rating_scale}")


@page_cli.command("set")
@click.argument("site_key")
@click.argument("page_key")
@click.option("--title")
@click.option("--url")
@click.option("--type", "schema_type", help="schema.org type, e.g. Movie, TVSeries, Book.")
@click.option(
    "--ratings/--no-ratings",
    "ratings_open",
    default=None,
    help="Open or close ratings on the page.",
)
def page_set(
    site_key: str,
    page_key: str,
    title: str | None,
    url: str | None,
    schema_type: str | None,
    ratings_open: bool | None,
) -> None:
    """Set a page's title, URL, schema.org type, or close its ratings."""
    with writing():
        page = _page(site_key, page_key)
        if title is not None:
            page.title = " ".join(title.split())[:200] or None
        if url is not None:
            if url and clean_http_url(url, 2048) is None:
                raise click.BadParameter("an http(s) URL", param_hint="--url")
            page.url = url or None
        if schema_type is not None:
            if schema_type and not _SCHEMA_TYPE.fullmatch(schema_type):
                raise click.BadParameter("a schema.org type name", param_hint="--type")
            page.schema_type = schema_type or None
            if schema_type and schema_type not in ratings.JSONLD_TYPES:
                click.echo(f"Note: no rating rich results for {schema_type}; JSON-LD is left out.")
        if ratings_open is not None:
            page.ratings_closed = not ratings_open
        db.session.commit()


@page_cli.command("score")
@click.argument("site_key")
@click.argument("page_key")
@click.argument("label")
@click.argument("score", type=float)
@click.option("--scale", type=click.Choice(["5", "10", "100"]), default="10", show_default=True)
@click.option("--url", help="Where the score comes from.")
def page_score(
    site_key: str, page_key: str, label: str, score: float, scale: str, url: str | None
) -> None:
    """Add or change an editorial score, e.g. `page score default /movie IMDB 5.9`."""
    label = " ".join(label.split())
    if not 1 <= len(label) <= 80:
        raise click.BadParameter("1 to 80 characters", param_hint="LABEL")
    if url and clean_http_url(url, 2048) is None:
        raise click.BadParameter("an http(s) URL", param_hint="--url")
    with writing():
        page = _page(site_key, page_key)
        try:
            ratings.set_editorial(page, label, round(score, 1), int(scale), url)
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        db.session.commit()


@page_cli.command("unscore")
@click.argument("site_key")
@click.argument("page_key")
@click.argument("label")
def page_unscore(site_key: str, page_key: str, label: str) -> None:
    """Remove an editorial score."""
    with writing():
        page = _page(site_key, page_key)
        kept = [item for item in page.editorial if item.label != label]
        if len(kept) == len(page.editorial):
            raise click.ClickException(f"No score {label!r} on this page.")
        page.editorial = kept
        db.session.commit()


@comment_cli.command("moderate")
@click.argument("comment_id", type=int)
@click.argument("action", type=click.Choice(["approve", "pending", "spam", "delete"]))
def comment_moderate(comment_id: int, action: str) -> None:
    """Approve, hold, mark as spam or delete a comment; counts and ratings follow."""
    status = {"approve": "approved", "pending": "pending", "spam": "spam", "delete": "deleted"}[
        action
    ]
    with writing():
        comment = db.session.get(Comment, comment_id, with_for_update=True)
        if comment is None:
            raise click.ClickException(f"No comment {comment_id}.")
        comments.set_status(comment, status)
        db.session.commit()
    click.echo(f"Comment {comment_id} is {status}.")


COMMANDS = (site_cli, page_cli, comment_cli)

"""Editorial scores: the owner's own scores for a page ("IMDB 5.9/10"), shown beside the
visitors' rating and never mixed into it, and the scale of their "Final Summary" box
(``summary.box_scale``), which the owner chooses where the scores' scales differ.

``clean_score`` is the one rule for a score, whether it comes from the admin form (text)
or the command line (numbers); ``service.sites.settings`` audits every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from service.data import EditorialScore, Page
from service.data.bounds import EDITORIAL_SCALES, LABEL_MAX, URL_MAX
from service.data.versions import bump_pages
from service.rules.errors import DomainError, ValidationError
from service.rules.validation import clean_http_url


@dataclass(frozen=True)
class Score:
    """A checked editorial score: a label, a score on its scale (one decimal), a source."""

    label: str
    score: float
    scale: int
    url: str | None


def _number(value: Any) -> float | None:
    """A score as typed ("5,9" too) or given, rounded to one decimal; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
    try:
        number = round(float(value), 1)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def scales_message() -> Any:
    """The message for a scale not in the list, for a score's and the Final Summary's."""
    first = ", ".join(map(str, EDITORIAL_SCALES[:-1]))
    return _l("The scale is %(first)s or %(last)s.", first=first, last=EDITORIAL_SCALES[-1])


def clean_box_scale(value: Any, errors: dict[str, Any]) -> int | None:
    """The Final Summary's scale as the owner chose it for a page whose scores are on
    different scales: one of ``EDITORIAL_SCALES``, or None for automatic ("", "auto", 0:
    the largest of the scores' scales); anything else puts a message in
    ``errors["editorial_scale"]``."""
    text = "?" if isinstance(value, bool) else str(value).strip().lower()
    if text in ("", "0", "auto", "automatic"):
        return None
    if text.isascii() and text.isdigit() and int(text) in EDITORIAL_SCALES:
        return int(text)
    errors["editorial_scale"] = scales_message()
    return None


def clean_score(label: str, score: Any, scale: Any, url: str | None) -> Score:
    """Check an editorial score; raises ValidationError with a message per field."""
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())
    if not 1 <= len(label) <= LABEL_MAX or not label.isprintable():
        errors["label"] = _l("Give a label of 1 to %(max)s characters.", max=LABEL_MAX)
    whole = str(scale).strip() if isinstance(scale, int | str) else ""
    chosen = int(whole) if whole.isdigit() and int(whole) in EDITORIAL_SCALES else 0
    if not chosen:
        errors["scale"] = scales_message()
    number = _number(score)
    if number is None or not 0 <= number <= (chosen or max(EDITORIAL_SCALES)):
        errors["score"] = (
            _l("A number from 0 to %(max)s.", max=chosen)
            if chosen
            else _l("A number from 0 to the scale.")
        )
    source = (url or "").strip() or None
    if source is not None and clean_http_url(source, URL_MAX) is None:
        errors["url"] = _l("An address starting with http:// or https://.")
    if errors:
        raise ValidationError(errors)
    assert number is not None
    return Score(label, number, chosen, source)


def set_editorial(page: Page, label: str, score: float, scale: int, url: str | None) -> None:
    """Add or replace one named editorial score on a page (values already checked)."""
    bump_pages(page.id)  # the score box shows it
    existing = next((item for item in page.editorial if item.label == label), None)
    if existing is None:
        page.editorial.append(
            EditorialScore(
                label=label, score=score, scale=scale, url=url, position=len(page.editorial)
            )
        )
    else:
        existing.score, existing.scale, existing.url = score, scale, url


def save_score(page: Page, score: Score, original: str | None = None) -> None:
    """Store a checked score on a page (caller commits).

    ``original`` names the score being changed (its label may change too); ``""`` adds a
    new one, whose label must be free; None adds one or changes the one with the same label.
    """
    if original is None:  # add, or change the score with this label
        original = score.label if any(i.label == score.label for i in page.editorial) else ""
    if any(item.label == score.label != original for item in page.editorial):
        raise ValidationError({"label": _l("Another score has this label.")})
    if original:
        row = next((item for item in page.editorial if item.label == original), None)
        if row is None:
            raise DomainError(
                "not_found", _l("There is no score %(label)r on this page.", label=original)
            )
        row.label = score.label
    set_editorial(page, score.label, score.score, score.scale, score.url)


def remove_score(page: Page, label: str) -> None:
    """Remove the score with this label; ``not_found`` when there is none (caller commits)."""
    kept = [item for item in page.editorial if item.label != label]
    if len(kept) == len(page.editorial):
        raise DomainError("not_found", _l("There is no score %(label)r on this page.", label=label))
    page.editorial = kept
    bump_pages(page.id)

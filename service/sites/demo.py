"""The demo page: an article of our own with a live thread, rating and score box."""

from __future__ import annotations

from service.data.bounds import EDITORIAL_DEFAULT_SCALE
from service.extensions import db
from service.ratings.editorial import set_editorial
from service.sites.lookup import ensure_default_site, get_or_create_page

DEMO_PAGE = "/demo/glass-orchard"
DEMO_TITLE = "Glass Orchard (Season 1)"
DEMO_SCORES = (("Starlight Weekly", 7.4), ("The Frame Review", 8.2))


def ensure_demo_page() -> None:
    """Create the default site and the demo page with its type and editorial scores."""
    site = ensure_default_site()
    page = get_or_create_page(site, DEMO_PAGE, title=None, url=None, service_origin="")
    if page.schema_type is None:
        page.title = DEMO_TITLE
        page.schema_type = "TVSeries"
        for label, score in DEMO_SCORES:
            set_editorial(page, label, score, EDITORIAL_DEFAULT_SCALE, None)
    db.session.commit()

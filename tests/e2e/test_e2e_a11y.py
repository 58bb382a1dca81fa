"""Accessibility: axe-core (WCAG 2.2 A and AA, and its best practices) in a real browser.

Every surface a reader or a moderator sees is checked in the light and the dark theme
(the reader's ``prefers-color-scheme``, which the widgets, the standalone page, the demo
page and the admin views all follow): the widgets in script mode (shadow roots on a host
page) and iframe mode (the framed page, checked inside its frame), the standalone page,
the demo page and every admin page. A serious or critical violation fails the test, with
each violation's rule and the elements it found. axe-core comes bundled with
axe-playwright-python: nothing is downloaded when the tests run (docs/accessibility.md).
"""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

import pytest
from harness import (
    COMMENT_FORM,
    FormClock,
    comments_box,
    expect,
    fill_comment,
    rating_box,
    wait_mounted,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THEMES = ["light", "dark"]
BLOCKING = {"serious", "critical"}
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices (landmarks, headings...).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
ADMIN_PASSWORD = "a long owner password for axe"


def check(target: Any, where: str, *, iframes: bool = True) -> dict[str, Any]:
    """Run axe-core on a page or a frame; fail on serious or critical violations."""
    from axe_playwright_python.sync_playwright import Axe

    options = {
        "runOnly": {"type": "tag", "values": TAGS},
        "resultTypes": ["violations"],
        "iframes": iframes,
    }
    results = Axe().run(target, options=options).response
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    report = "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n"
        + "\n".join(
            f"    {' > '.join(map(str, n['target']))}: {n['html'][:160]}\n"
            f"      {' '.join(n.get('failureSummary', '').split())[:300]}"
            for n in v["nodes"]
        )
        for v in blocking
    )
    assert not blocking, f"axe found on {where}:\n{report}"
    return results


def seed_thread(service: Any, pid: str) -> None:
    """A thread with a reply, a moderator-free page of votes and editorial scores."""
    first = service.post_comment(
        pid,
        name="Ada",
        email="ada@example.org",
        text="A first comment with a [link](https://example.org).",
    )
    service.post_comment(
        pid, name="Noor", email="noor@example.org", text="A *reply*.", parent=first["comment"]["id"]
    )
    service.post_comment(pid, name="Tobiah", email="tobiah@example.org", text="Another one.")
    for value in (5, 4, 2):
        service.vote(pid, value)
    service.flask("page", "score", "default", pid, "Starlight Weekly", "7.4", "--scale", "10")


# "dark-attribute": the host page asks for the dark theme (data-theme) on a light browser.
@pytest.mark.parametrize("theme", [*THEMES, "dark-attribute"])
def test_widgets_in_script_mode_pass_axe(contexts, host, service, page_id, theme):
    pid = page_id()
    seed_thread(service, pid)
    by_attribute = theme == "dark-attribute"
    browsing = contexts(theme, color_scheme="light" if by_attribute else theme)
    page = browsing.new_page()
    clock = FormClock(page)
    page.goto(
        host.article(
            f"axe-script-{theme}",
            pid,
            theme="dark" if by_attribute else None,
            body_attrs=' class="dark"' if theme != "light" else "",
        )
    )
    rating, box = rating_box(page), comments_box(page)
    wait_mounted(rating, ".parley-editorial")
    form = wait_mounted(box, COMMENT_FORM)
    expect(box.locator("article.parley-comment")).to_have_count(3)
    check(page, f"the script-mode widgets ({theme})")

    # After a vote, a post (own comment: Edit and Delete) and a refused post (errors shown).
    box.locator(".parley-like").first.click()
    rating.locator("label.parley-star").nth(3).click()
    expect(rating.locator(".parley-yours")).to_be_visible()
    fill_comment(form, text="Mine.", name="Grace", email="grace@example.org")
    clock.wait(page)
    form.get_by_role("button", name="Post Comment").click()
    expect(box.locator('[data-action="edit"]')).to_have_count(1)
    fill_comment(form, text="", name="", email="not an address")
    form.get_by_role("button", name="Post Comment").click()
    expect(form.locator(".parley-error-text").first).to_be_visible()
    check(page, f"the script-mode widgets after a vote, a post and an error ({theme})")
    browsing.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_widget_in_iframe_mode_passes_axe(contexts, host, service, page_id, theme):
    pid = page_id()
    seed_thread(service, pid)
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(host.article(f"axe-frame-{theme}", pid, mode="iframe", rating=False))
    frame_element = page.locator('[data-parley="comments"] iframe')
    expect(frame_element).to_be_visible()
    frame = page.frame_locator('[data-parley="comments"] iframe')
    expect(frame.locator(COMMENT_FORM)).to_be_visible()
    expect(frame.locator("main.parley.parley-js")).to_have_count(1)  # enhanced
    inner = frame_element.element_handle().content_frame()
    assert inner is not None
    check(inner, f"the framed page ({theme})")
    check(page, f"the host page around the frame ({theme})", iframes=False)
    browsing.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_standalone_page_passes_axe(contexts, service, page_id, theme):
    pid = page_id()
    seed_thread(service, pid)
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(service.thread_url(pid))
    expect(page.locator(COMMENT_FORM)).to_be_visible()
    check(page, f"the standalone page ({theme})")
    # A refused post: the page again with the messages beside the fields.
    page.locator(COMMENT_FORM).get_by_role("button", name="Post Comment").click()
    expect(page.locator(".parley-error-text").first).to_be_visible()
    check(page, f"the standalone page with errors ({theme})")
    browsing.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_privacy_page_passes_axe(contexts, service, theme):
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(f"{service.origin}/privacy?site=default")
    form = page.locator("form").filter(has=page.locator('input[type="email"]'))
    expect(form).to_be_visible()
    check(page, f"the privacy page ({theme})")
    # A refused request: the page again with the message beside the field.
    form.locator('input[type="email"]').fill("not an address")
    form.locator('button[type="submit"], input[type="submit"]').first.click()
    expect(page.locator('[aria-invalid="true"], .parley-error-text').first).to_be_visible()
    check(page, f"the privacy page with errors ({theme})")
    browsing.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_demo_page_passes_axe(contexts, service, theme):
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(f"{service.origin}/demo")
    rating = page.locator('[data-parley="rating"]').first
    wait_mounted(rating, ".parley-rating")
    wait_mounted(page.locator('[data-parley="comments"]').first, COMMENT_FORM)
    check(page, f"the demo page ({theme})")
    browsing.assert_clean()


@pytest.fixture(scope="module")
def owner(service: Any) -> dict[str, Any]:
    """An owner of the default site, and things for every admin page to show."""
    email = f"owner-{secrets.token_hex(3)}@example.org"
    service.flask("create-admin", email, "--site", "default", "--password", ADMIN_PASSWORD)
    pid = f"/e2e/axe-admin-{secrets.token_hex(3)}"
    seed_thread(service, pid)
    held = service.post_comment(pid, site="moderated", text="Waiting for a moderator.")
    return {"email": email, "page": pid, "comment": held["comment"]["id"]}


def log_in(page: Any, service: Any, email: str) -> None:
    page.goto(f"{service.origin}/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{service.origin}/admin/")


ADMIN_PAGES = [
    ("dashboard", "/admin/"),
    ("queue", "/admin/queue"),
    ("queue of everything", "/admin/queue?status=approved"),
    ("comment detail", "/admin/comments/{comment}"),
    ("sites", "/admin/sites"),
    ("settings", "/admin/sites/default"),
    ("pages", "/admin/sites/default/pages"),
    ("one page", "/admin/sites/default/pages?page={page}"),
    ("bans", "/admin/bans"),
    ("blocklist", "/admin/blocklist"),
    ("moderators", "/admin/moderators"),
    ("tokens", "/admin/tokens"),
    ("audit", "/admin/audit"),
    ("account", "/admin/account"),
    ("imports", "/admin/imports"),
    ("export", "/admin/export"),
    ("commenters' data", "/admin/privacy"),
    ("outbox", "/admin/outbox"),
]


@pytest.mark.parametrize("theme", THEMES)
def test_every_admin_page_passes_axe(contexts, service, owner, theme):
    browsing = contexts(theme, color_scheme=theme)
    page = browsing.new_page()
    page.goto(f"{service.origin}/admin/login")
    check(page, f"admin login ({theme})")
    log_in(page, service, owner["email"])
    # The owner moderates the default site; the held comment is on another: use one of theirs.
    thread = service.thread(owner["page"])
    values = {"comment": thread["comments"][0]["id"], "page": urllib.parse.quote(owner["page"])}
    for name, path in ADMIN_PAGES:
        answer = page.goto(service.origin + path.format(**values))
        assert answer is not None and answer.status == 200, (name, answer and answer.status)
        check(page, f"admin {name} ({theme})")
    browsing.assert_clean()


def test_an_admin_form_shown_again_with_errors_passes_axe(contexts, service, owner):
    """Site settings refused: the fields in error, their messages and the focus on the
    first of them still pass axe."""
    browsing = contexts("refused form")
    page = browsing.new_page()
    log_in(page, service, owner["email"])
    page.goto(f"{service.origin}/admin/sites/default")
    page.locator("#origins").fill("ftp://files.example")
    with page.expect_navigation():
        page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#origins")).to_be_focused()
    expect(page.locator("#origins")).to_have_attribute("aria-invalid", "true")
    check(page, "admin settings with errors")
    browsing.assert_clean()


@pytest.mark.parametrize("theme", THEMES)
def test_site_and_invitation_forms_pass_axe(contexts, service, owner, theme):
    """A site refused on the sites page, the moderators page showing a new invitation link,
    and the link's own page for the invitee, with its errors too."""
    browsing = contexts(f"invitation {theme}", color_scheme=theme)
    page = browsing.new_page()
    log_in(page, service, owner["email"])
    page.goto(f"{service.origin}/admin/sites")
    page.get_by_label("Key").fill("Not a key!")
    with page.expect_navigation():
        page.get_by_role("button", name="Add the site").click()
    expect(page.locator("#key")).to_be_focused()
    check(page, f"admin sites with a refused new site ({theme})")
    page.goto(f"{service.origin}/admin/moderators")
    page.get_by_label("Email address").fill(f"invitee-{secrets.token_hex(3)}@example.org")
    page.get_by_role("button", name="Invite", exact=True).click()
    link = page.locator("#invitation-link")
    expect(link).to_be_visible()
    check(page, f"admin moderators with a new invitation ({theme})")
    invited = contexts(f"invitee {theme}", color_scheme=theme)
    invitee = invited.new_page()
    invitee.goto(link.input_value())
    check(invitee, f"the invitation page ({theme})")
    with invitee.expect_navigation():
        invitee.get_by_role("button", name="Create my account").click()
    expect(invitee.locator("#password")).to_be_focused()
    check(invitee, f"the invitation page with errors ({theme})")
    browsing.assert_clean()
    invited.assert_clean()

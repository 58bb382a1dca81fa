"""Reports and closed threads in a real browser: a reader reports a comment from the widget
(its form comes as a chunk on the first click), and a closed thread shows its notice where
the form was, in script mode and on the standalone page."""

from __future__ import annotations

import re
import secrets

import pytest
from harness import COMMENT_FORM, action, comment, comments_box, expect, wait_mounted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

THANKS = "Thank you. The moderators will look at it."


def test_a_reader_reports_a_comment_from_the_widget(browsing, host, service, page_id):
    site = f"reports-{secrets.token_hex(3)}"
    service.flask("site", "add", site, "--name", "Reports", "--origin", host.origin)
    service.flask("site", "threads", site, "--report-threshold", "1")
    pid = page_id()
    posted = service.post_comment(pid, site=site, text="Buy cheap watches here.")
    ident = posted["comment"]["id"]
    page = browsing.new_page()
    page.goto(host.article("report", pid, site=site, rating=False))
    box = comments_box(page)
    wait_mounted(box, f"article#c{ident}")

    report = action(box, ident, "report")
    expect(report).to_have_text("Report")
    report.click()
    reason = comment(box, ident).locator(".parley-report-form textarea")
    expect(reason).to_be_focused()
    reason.fill("Advertising, not a comment.")
    comment(box, ident).get_by_role("button", name="Send report").click()

    flash = comment(box, ident).locator('.parley-actions > .parley-flash[role="status"]')
    expect(flash).to_have_text(THANKS)
    expect(comment(box, ident).locator(".parley-report-form")).to_have_count(0)
    expect(report).to_be_focused()
    chunks = [r.url for r in browsing.watch.service_requests() if "/embed/report." in r.url]
    assert len(chunks) == 1, chunks
    # The site takes one report: the comment waits for the moderators, out of the thread.
    assert service.thread(pid, site=site)["comments"] == []
    reports = browsing.watch.service_requests(path=f"/api/v1/comments/{ident}/report")
    assert [r.method for r in reports] == ["POST"]
    assert "x-parley-visitor" in reports[0].all_headers()
    browsing.assert_clean()


def test_a_closed_thread_shows_the_notice_instead_of_the_form(
    browsing, contexts, host, service, page_id
):
    pid = page_id()
    ident = service.post_comment(pid, text="Said before it closed.")["comment"]["id"]
    service.flask("page", "close", "default", pid)
    page = browsing.new_page()
    page.goto(host.article("closed", pid, rating=False))
    box = comments_box(page)
    notice = wait_mounted(box, ".parley-closed")
    expect(notice).to_have_text(re.compile(r"^\s*Comments are closed\.\s*$"))
    expect(box.locator(COMMENT_FORM)).to_have_count(0)
    expect(box.locator(".parley-skip")).to_have_count(0)
    expect(action(box, ident, "reply")).to_have_count(0)
    expect(action(box, ident, "report")).to_be_visible()  # reports still reach moderators

    # The standalone page (no script needed): the same notice, no form.
    page.goto(service.thread_url(pid))
    expect(page.locator(".parley-closed")).to_contain_text("Comments are closed.")
    expect(page.locator('form.parley-form [name="email"]')).to_have_count(0)
    expect(page.locator(f"article#c{ident}")).to_be_visible()

    browsing.assert_clean()

    # Reopened: the form is back for the next reader (this one's browser may keep the
    # closed fragment for its max-age, as after any write).
    service.flask("page", "reopen", "default", pid)
    later = contexts("later")
    page = later.new_page()
    page.goto(host.article("reopened", pid, rating=False))
    wait_mounted(comments_box(page), COMMENT_FORM)
    expect(comments_box(page).locator(".parley-closed")).to_have_count(0)
    later.assert_clean()

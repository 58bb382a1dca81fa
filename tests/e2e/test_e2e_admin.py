"""The admin views in a real browser: log in, approve a pending comment, see it in the widget."""

from __future__ import annotations

import secrets

import pytest
from harness import MODERATED_SITE, comments_box, expect, wait_mounted

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_moderator_approves_a_pending_comment_and_readers_see_it(
    contexts, host, service, page_id
):
    pid = page_id()
    email = f"mod-{secrets.token_hex(3)}@example.org"
    password = "a long moderator password"
    service.flask("create-admin", email, "--site", MODERATED_SITE, "--role", "moderator",
                  "--password", password)  # fmt: skip
    held = service.post_comment(pid, site=MODERATED_SITE, text="Held for the moderator.")
    assert held["status"] == "pending"
    comment_id = held["comment"]["id"]

    reader = contexts("reader")
    article = host.article("admin-flow", pid, site=MODERATED_SITE, rating=False)
    page = reader.new_page()
    page.goto(article)
    box = comments_box(page)
    wait_mounted(box, "form.parley-form")
    expect(box.locator(f"#c{comment_id}")).to_have_count(0)

    admin = contexts("admin").new_page()
    admin.goto(f"{service.origin}/admin/queue")
    expect(admin).to_have_url(f"{service.origin}/admin/login?next=/admin/queue")
    admin.get_by_label("Email").fill(email)
    admin.get_by_label("Password").fill(password)
    admin.get_by_role("button", name="Log in").click()
    expect(admin).to_have_url(f"{service.origin}/admin/queue")

    row = admin.locator(f"#q{comment_id}")
    expect(row).to_contain_text("Held for the moderator.")
    expect(row).to_contain_text("seeder@example.org")  # moderators see the email
    expect(row).to_contain_text("Why pending")
    row.locator('input[name="ids"]').check()
    admin.get_by_role("button", name="Approve").click()
    expect(admin.locator(".admin-flash")).to_contain_text("approve")
    expect(admin.locator(f"#q{comment_id}")).to_have_count(0)  # gone from the pending queue

    cookie = next(c for c in admin.context.cookies() if c["name"] == "parley_admin")
    assert cookie["path"] == "/admin" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"

    # Fragments are public and cached for half a minute: a new reader sees it at once.
    page = contexts("another reader").new_page()
    page.goto(article)
    box = comments_box(page)
    expect(box.locator(f"#c{comment_id}")).to_contain_text("Held for the moderator.")
    admin.goto(f"{service.origin}/admin/audit")
    expect(admin.locator("table")).to_contain_text(f"comment {comment_id}")

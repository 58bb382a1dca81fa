"""An owner runs their Parley from the admin pages alone: creates a site for their host
page, invites a moderator, and the invitee's link makes an account that moderates it."""

from __future__ import annotations

import secrets

import pytest
from harness import COMMENT_FORM, FormClock, comments_box, expect, fill_comment, wait_mounted

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OWNER_PASSWORD = "a long password for the owner"
MOD_PASSWORD = "a long password for the moderator"


def test_an_owner_creates_a_site_and_invites_a_moderator_through_the_pages(
    contexts, host, service, page_id
):
    token = secrets.token_hex(3)
    owner_email, mod_email, key = (
        f"owner-{token}@example.org",
        f"mod-{token}@example.org",
        f"blog-{token}",
    )
    service.flask("create-admin", owner_email, "--site", "default", "--password", OWNER_PASSWORD)

    owner_context = contexts("owner")
    owner = owner_context.new_page()
    owner.goto(f"{service.origin}/admin/login")
    owner.get_by_label("Email").fill(owner_email)
    owner.get_by_label("Password").fill(OWNER_PASSWORD)
    owner.get_by_role("button", name="Log in").click()
    expect(owner).to_have_url(f"{service.origin}/admin/")

    # A new site, refused once for a wrong origin: the field is focused with its message.
    owner.goto(f"{service.origin}/admin/sites")
    owner.get_by_label("Key").fill(key)
    owner.get_by_label("Name", exact=True).fill("The host's blog")
    owner.get_by_label("Allowed origins").fill(f"{host.origin}/blog")
    owner.get_by_role("button", name="Add the site").click()
    origins = owner.get_by_label("Allowed origins")
    expect(origins).to_be_focused()
    expect(origins).to_have_attribute("aria-invalid", "true")
    expect(owner.locator("#origins-error")).to_contain_text("is not an origin")
    origins.fill(host.origin)
    owner.get_by_role("button", name="Add the site").click()
    expect(owner).to_have_url(f"{service.origin}/admin/sites/{key}")
    expect(owner.locator(".admin-flash")).to_contain_text("you are its owner")

    # Invite a moderator: the link is shown once (and mailed).
    owner.goto(f"{service.origin}/admin/moderators")
    owner.get_by_label("Site", exact=True).select_option(key)
    owner.get_by_label("Email address").fill(mod_email)
    owner.get_by_label("Role", exact=True).select_option("moderator")
    owner.get_by_role("button", name="Invite", exact=True).click()
    link = owner.locator("#invitation-link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert url.startswith(f"{service.origin}/admin/invitation?token=")
    owner.goto(f"{service.origin}/admin/moderators")  # shown once: not again
    expect(owner.locator("#invitation-link")).to_have_count(0)

    # The invitee opens the link, chooses a password and moderates the new site only.
    invitee_context = contexts("invitee")
    invitee = invitee_context.new_page()
    invitee.goto(url)
    expect(invitee.get_by_role("heading", level=1)).to_contain_text("Join The host's blog")
    invitee.get_by_label("New password", exact=True).fill(MOD_PASSWORD)
    invitee.get_by_label("New password again").fill("not the same password")
    invitee.get_by_role("button", name="Create my account").click()
    expect(invitee.get_by_label("New password again")).to_be_focused()
    invitee.get_by_label("New password", exact=True).fill(MOD_PASSWORD)
    invitee.get_by_label("New password again").fill(MOD_PASSWORD)
    invitee.get_by_role("button", name="Create my account").click()
    expect(invitee).to_have_url(f"{service.origin}/admin/")
    expect(invitee.locator(".admin-flash")).to_contain_text("Welcome")
    invitee.goto(f"{service.origin}/admin/sites")
    expect(invitee.locator(f"#site-{key}")).to_be_visible()
    expect(invitee.locator("#site-default")).to_have_count(0)
    invitee.goto(f"{service.origin}/admin/moderators")
    expect(invitee.locator("main")).to_contain_text(owner_email)
    expect(invitee.locator('form[action="/admin/moderators/invite"]')).to_have_count(0)
    invitee.goto(url)  # used: it works once
    expect(invitee.get_by_role("heading", level=1)).to_contain_text("cannot be used")

    # The host page allowed by the new site posts to it, and the moderator sees the post.
    reader_context = contexts("reader")
    reader = reader_context.new_page()
    clock = FormClock(reader)
    pid = page_id()
    reader.goto(host.article("new-site", pid, site=key, rating=False))
    box = comments_box(reader)
    form = wait_mounted(box, COMMENT_FORM)
    fill_comment(form, text="First on the new site.", name="Grace", email="grace@example.org")
    clock.wait(reader)
    form.get_by_role("button", name="Post Comment").click()
    expect(box.locator("article.parley-comment")).to_contain_text("First on the new site.")
    invitee.goto(f"{service.origin}/admin/queue?status=approved&site={key}")
    expect(invitee.locator("main")).to_contain_text("First on the new site.")
    for browsing in (owner_context, invitee_context, reader_context):
        browsing.assert_clean()

"""Signing in by name in Chromium: Gradio's login form against the users file, a wrong password refused, each
person's comparison kept with their name and shown as theirs in the gallery; a phone and dark mode."""

from __future__ import annotations

import pytest

from arena.store import Filter
from arena.users import UsersFile
from tests.apprunner import environment, running_app, write_catalog
from tests.browser import needs_chromium
from tests.conftest import ARTIFACTS, LOOPBACK_KEY, openai_entry

pytestmark = needs_chromium

DESKTOP = {"width": 1440, "height": 1000}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app(tmp_path_factory, loopback):
    folder = tmp_path_factory.mktemp("users-app")
    users = UsersFile(folder / "users.toml")
    users.add("alice", "alice's password")
    users.add("bob", "bob's password")
    catalog = write_catalog(folder / "catalog.yaml", [openai_entry(loopback, "echo")])
    with environment(OPENAI_API_KEY=LOOPBACK_KEY, ARENA_DATA_DIR=str(folder / "data")), \
            running_app(catalog, "--users", str(users.path)) as (url, engine):
        yield url, engine


def sign_in(browser, url, name, password, viewport=DESKTOP, colour_scheme="light"):
    """A fresh browser context (its own cookies) on the login form, the name and password typed and sent."""
    context = browser.new_context(viewport=viewport, color_scheme=colour_scheme)
    page = context.new_page()
    page.goto(url)
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    return context, page


def test_two_people_sign_in_and_each_comparison_is_kept_with_their_name(browser, app):
    url, engine = app
    ARTIFACTS.mkdir(exist_ok=True)
    context, page = sign_in(browser, url, "alice", "not alice's password")
    page.get_by_text("Incorrect credentials").wait_for(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "users-login-refused.png"))
    context.close()
    for name in ("alice", "bob"):
        context, page = sign_in(browser, url, name, f"{name}'s password")
        page.wait_for_selector("#arena-models label", timeout=30_000)
        page.locator("#arena-signed-in", has_text=f"Signed in as {name}").wait_for(timeout=20_000)
        page.locator("#arena-prompt textarea").fill(f"a question from {name}")
        page.locator("#arena-models label", has_text="echo").click()
        page.click("#arena-run")
        page.wait_for_selector(".arena-pane-foot[data-status=done] .arena-saved", timeout=60_000)
        records, _ = engine.store.query(Filter(words=f"a question from {name}"))
        assert [record.user_name for record in records] == [name]
        page.get_by_role("tab", name="Gallery").click()
        card = page.locator("#gallery-grid .ga-card", has_text=f"a question from {name}")
        card.wait_for(timeout=20_000)
        assert f"by {name}" in card.locator(".ga-meta").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"users-gallery-{name}.png"))
        page.get_by_role("link", name="Sign out").click()
        page.get_by_role("button", name="Login").wait_for(timeout=20_000)
        context.close()


@pytest.mark.parametrize("viewport, colour_scheme, label", [(PHONE, "light", "phone"), (DESKTOP, "dark", "dark")])
def test_the_login_form_on_a_phone_and_in_dark_mode(browser, app, viewport, colour_scheme, label):
    url, engine = app
    context, page = sign_in(browser, url, "bob", "bob's password", viewport=viewport, colour_scheme=colour_scheme)
    page.wait_for_selector("#arena-run", timeout=30_000)
    page.get_by_role("tab", name="Gallery").click()
    page.locator("#gallery-grid .ga-card").first.wait_for(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / f"users-gallery-{label}.png"), full_page=True)
    context.close()
    login = browser.new_page(viewport=viewport, color_scheme=colour_scheme)
    login.goto(url + ("?__theme=dark" if colour_scheme == "dark" else ""))
    login.get_by_role("button", name="Login").wait_for(timeout=20_000)
    login.screenshot(path=str(ARTIFACTS / f"users-login-{label}.png"))
    login.close()

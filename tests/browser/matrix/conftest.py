"""The browser matrix: every page in kk, ru, en x 1280x800 and 360x640 x
JavaScript on and off (QYZMET_MATRIX=full, `make matrix`), or, inside the
normal suite, a rotating slice: every page once, in one of the twelve
combinations."""

from __future__ import annotations

import pytest

from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD
from tests.browser.matrix import world as world_module
from tests.browser.matrix.checks import CSP_LISTENER, watch, without_page_scripts
from tests.browser.matrix.combos import SIZES


@pytest.fixture(scope="session")
def matrix_world(tmp_path_factory):
    made, server = world_module.world(tmp_path_factory.mktemp("matrix"))
    yield made
    server.stop()


@pytest.fixture(scope="session")
def citizen_state(browser, matrix_world, tmp_path_factory):
    """The mother's session, logged in once through the real form; every citizen's page reuses it."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{matrix_world.base}/en/login")
    page.fill("#iin", MOTHER_WITH_BABY)
    page.fill("#password", SANDBOX_PASSWORD)
    page.locator("main form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(f"{matrix_world.base}/en/account")
    path = tmp_path_factory.mktemp("state") / "citizen.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture(scope="session")
def matrix_page(browser, citizen_state):
    """A long-lived page per (combination, citizen or not): opening a context per check would double the run."""
    pages = {}

    def open_page(combo, citizen: bool, twin: bool = False):
        """The page for a combination; `twin`: scripting on but none of the portal's scripts (for axe)."""
        key = (combo, citizen, twin)
        if key not in pages:
            context = browser.new_context(
                viewport=SIZES[combo.size], java_script_enabled=combo.javascript or twin,
                storage_state=citizen_state if citizen else None,
            )
            if twin:
                without_page_scripts(context)
            context.add_init_script(CSP_LISTENER)
            page = context.new_page()
            page.set_default_timeout(30_000)
            watch(page)
            pages[key] = page
        page = pages[key]
        page.problems.clear()
        return page

    yield open_page
    for page in pages.values():
        page.context.close()

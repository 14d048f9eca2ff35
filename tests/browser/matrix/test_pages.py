"""Every page of every flow, in Chromium: no console errors or CSP refusals
(also once htmx has swapped the page in again, with JavaScript on), no
sideways scroll, nothing left in English on a kk/ru page, no catalogue header
(gettext of an empty text), no axe-core WCAG
2.2 AA violation; the server's HTML through the Nu HTML Checker.

With QYZMET_MATRIX=full each page is checked in all twelve combinations
(3 languages x 2 sizes x JavaScript on/off); otherwise in one (see conftest).
"""

from __future__ import annotations

import pytest

from tests.browser.matrix.checks import (
    axe_violations, catalogue_header_on, horizontal_overflow, problems, swap_in_place, untranslated, visible_text,
    vnu_errors,
)
from tests.browser.matrix.combos import FULL, LANGUAGES, Combination, matrix_cases
from webapp.config import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "test-artifacts" / "matrix"
CASES = matrix_cases()
# The full matrix runs axe on every JavaScript-on combination and, with
# JavaScript off, on the phone size in each language (the twin load doubles the
# cost, and the JavaScript-off DOM at 1280 is the same HTML under wider CSS,
# which the JavaScript-on runs cover at 1280); the slice runs axe on whichever
# combination it draws.
AXE_WITHOUT_JS = {Combination(lang, "360", False) for lang in LANGUAGES}


def _after_htmx_swap(page, status: int) -> list[str]:
    """What the console shows once htmx has swapped the page in again (only what is new)."""
    before = len(problems(page, status))
    swap_in_place(page)
    return problems(page, status)[before:]


@pytest.mark.parametrize(("name", "combo"), CASES, ids=[f"{n}-{c.id}" for n, c in CASES])
def test_page(matrix_world, matrix_page, name, combo):
    spec = matrix_world.pages[name]
    if not spec.shown:
        pytest.skip("a step the sandbox mother's answers do not show")
    page = matrix_page(combo, spec.citizen)
    url = matrix_world.base + spec.path.format(lang=combo.lang)
    response = page.goto(url, wait_until="load")
    assert response.status == spec.status, f"{url}: {response.status}"
    assert page.url == url, f"{url} went to {page.url}"
    found = {
        "console/CSP": problems(page, spec.status),
        "console/CSP after an htmx swap": _after_htmx_swap(page, spec.status) if combo.javascript else [],
        "sideways scroll": [o] if (o := horizontal_overflow(page)) else [],
        "untranslated": untranslated(visible_text(page), combo.lang),
        "catalogue header": catalogue_header_on(page),
    }
    if combo.javascript:
        found["axe"] = axe_violations(page)
    elif FULL and combo not in AXE_WITHOUT_JS:
        pass  # see AXE_WITHOUT_JS
    else:
        twin = matrix_page(combo, spec.citizen, twin=True)
        twin.goto(url, wait_until="load")
        found["axe"] = axe_violations(twin)
    if spec.key and (combo.javascript or not FULL):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{combo.lang}-{combo.size}.png"), full_page=True)
    found = {what: items for what, items in found.items() if items}
    assert not found, f"{url} ({combo.id}): {found}"


def test_nu_html_checker(matrix_world, matrix_page, tmp_path):
    """The HTML each page's server sends, in each language the matrix covers, valid by the Nu HTML Checker.

    Only whole pages are checked: htmx fragments (the History of Services
    results, the SMS countdown) are not documents; html5lib parses them in
    PageCheckingClient wherever the suite renders them.
    """
    wanted = {(name, combo.lang) for name, combo in CASES}
    if FULL:
        wanted = {(name, lang) for name, _ in CASES for lang in LANGUAGES}
    requests = {citizen: matrix_page(CASES[0][1], citizen).context.request for citizen in (False, True)}
    documents = {}
    for name, lang in sorted(wanted):
        spec = matrix_world.pages[name]
        if not spec.shown:
            continue
        response = requests[spec.citizen].get(matrix_world.base + spec.path.format(lang=lang), max_redirects=0)
        assert response.status == spec.status, f"{name} {lang}: {response.status}"
        documents[f"{name}-{lang}"] = response.text()
    errors = vnu_errors(documents, tmp_path / "html")
    assert not errors, "\n".join(f"{name}: {msgs}" for name, msgs in sorted(errors.items()))

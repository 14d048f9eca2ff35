"""Every service walked in Chromium in Kazakh on a 360-pixel phone, from its journey
file, signed and sent, as issue 13's walk did by hand.

`make matrix` (QYZMET_MATRIX=full) walks all ten; `make test` walks two of them,
turning each day with the matrix's slice (QYZMET_MATRIX_OFFSET pins it).

On every page: one heading, no sideways scroll, no translation-catalogue header and
no CSP refusal. The check page and the confirmation say how it was signed, and no
date shown on the confirmation comes before the day it was signed.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser.conftest import PHONE, no_horizontal_scroll, screenshot
from tests.browser.matrix.combos import FULL, slice_offset
from tests.conftest import SANDBOX_PASSWORD, catalogue_header
from tests.journeys import FILES, SLUGS, load
from webapp.services import find
from webapp.sms import codes

LANG = "kk"
# How the kk confirmation says the citizen signed (issue 13, item 1).
SIGNED_BY_SMS = "SMS"
SIGNED_WITH_EDS = "ЭЦҚ"
KK_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым",
             "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"]


def _checked(page) -> None:
    """What every page of the walk must be."""
    assert page.locator("h1").count() == 1, page.url
    assert no_horizontal_scroll(page), page.url
    assert catalogue_header(page.content()) == [], page.url


def _choose(page, name: str, value: str) -> None:
    """Pick a radio or checkbox by its label, as a finger would, or fill/select the field."""
    control = page.locator(f"[name='{name}']").first
    kind = control.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
    if kind in ("input:radio", "input:checkbox"):
        option = page.locator(f"input[name='{name}'][value='{value}']")
        page.locator(f"label[for='{option.get_attribute('id')}']").click()
    elif kind.startswith("select"):
        control.select_option(value)
    else:
        control.fill(value)


def _answer(page, field, value, prefix: str = "") -> None:
    name = prefix + field.id
    if field.type == "date":
        year, month, day = str(value).split("-")
        for part, text in (("day", day), ("month", month), ("year", year)):
            page.fill(f"[name='{name}-{part}']", text)
    elif field.type == "file":
        names = value if isinstance(value, list) else [value]
        page.set_input_files(f"[name='{name}']", [str(FILES / n) for n in names])
    elif field.type == "group":
        while page.locator(f"#{field.id} fieldset.q-group-item").count() < len(value):
            page.locator(f"#{field.id}-add").click()
            page.wait_for_load_state()
        parts = {p.id: p for p in field.fields}
        for n, item in enumerate(value):
            for part_id, part_value in item.items():
                _answer(page, parts[part_id], part_value, f"{name}-{n}-")
    else:
        _choose(page, name, str(value))


def _continue(page) -> None:
    """Press Continue and wait for the next step, or this one back with its errors
    (htmx swaps the page in place, so the load event alone does not say it is there)."""
    page.evaluate("document.body.dataset.walked = '1'")
    page.locator("button[value=continue]").click()
    # Polled from here: wait_for_function evaluates a string, which the portal's CSP forbids.
    for _ in range(300):
        if page.evaluate("!document.body.dataset.walked && document.readyState === 'complete'"):
            break
        page.wait_for_timeout(50)
    page.wait_for_load_state("networkidle")


def _walk_to_check(page, base: str, service, journey: dict) -> str:
    apply = f"/{LANG}/services/{service.slug}/apply"
    page.goto(f"{base}{apply}")
    _checked(page)
    page.locator("button[value=start]").click()
    page.wait_for_url(lambda url: not url.split("?")[0].endswith("/apply"))
    answers = journey.get("answers", {})
    for _ in range(40):
        path = page.url.removeprefix(base).split("?")[0]
        if path.endswith("/check"):
            _checked(page)
            return apply
        step = service.wizard.step(path.rsplit("/", 1)[-1])
        assert step is not None, path
        _checked(page)
        given = answers.get(step.id, {})
        if step.kind == "confirm":
            _choose(page, "confirmed", given.get("confirmed", "yes") if isinstance(given, dict) else given)
        else:
            for field in step.fields:
                if field.id in given:
                    _answer(page, field, given[field.id])
        _continue(page)
        errors = page.locator(".q-error-message").all_inner_texts()
        assert not errors, f"step {step.id} refused the answers: {errors}"
    raise AssertionError("the wizard did not end")


def _dates_on(text: str) -> list[date]:
    """The Kazakh long dates on a page ("2026 жылғы 2 желтоқсан" and the like)."""
    found = []
    for year, day, month in re.findall(rf"(\d{{4}}) ж\S*\s+(\d{{1,2}})\s+({'|'.join(KK_MONTHS)})", text):
        found.append(date(int(year), KK_MONTHS.index(month) + 1, int(day)))
    for day, month, year in re.findall(r"\b(\d{2})\.(\d{2})\.(\d{4})\b", text):
        found.append(date(int(year), int(month), int(day)))
    return found


WALKED = SLUGS if FULL else [SLUGS[(2 * slice_offset() + n) % len(SLUGS)] for n in range(2)]


@pytest.mark.parametrize("slug", WALKED)
def test_every_service_in_kazakh_on_a_phone(app, live_server, page_at, agent, slug):
    journey = load(slug)
    with app.app_context():
        service = find(slug)
        phone = codes.registered_phone(journey["citizen"])
    page = page_at(PHONE)
    page.goto(f"{live_server}/{LANG}/login")
    page.fill("#iin", journey["citizen"])
    page.fill("#password", SANDBOX_PASSWORD)
    page.locator("main form[action$='/login'] button[type=submit]").click()
    page.wait_for_url(f"{live_server}/{LANG}/account")
    apply = _walk_to_check(page, live_server, service, journey)
    screenshot(page, f"walk-{slug}-check-kk-360")

    by_sms = page.locator(f"form[action='{apply}/sign/sms'] button").count() > 0 and phone
    if by_sms:
        page.locator(f"form[action='{apply}/sign/sms'] button").click()
        page.wait_for_url(re.compile(rf".*{apply}/sign/sms/[^/]+$"))
        _checked(page)
        outbox = page.context.new_page()
        outbox.goto(f"{live_server}/{LANG}/sandbox/sms?phone={phone.replace('+', '%2B')}")
        code = re.search(r"\b(\d{6})\b", outbox.locator("tbody tr").first.inner_text()).group(1)
        outbox.close()
        page.fill("#code", code)
        page.locator("main form button[type=submit]").first.click()
    else:
        page.locator("form[data-eds] button[type=submit]").click()
    page.wait_for_url(re.compile(rf".*/{LANG}/account/applications/[^/]+/sent$"))
    _checked(page)
    screenshot(page, f"walk-{slug}-sent-kk-360")
    confirmation = page.locator("main").inner_text()
    assert (SIGNED_BY_SMS if by_sms else SIGNED_WITH_EDS) in confirmation
    if by_sms:
        assert "ЭЦҚ-мен қол қойдыңыз" not in confirmation
    with app.app_context():
        from webapp import clock

        today = clock.today()
    assert all(shown >= today for shown in _dates_on(confirmation)), _dates_on(confirmation)

    # History of Services shows it, with its status, on the phone's screen.
    number = page.url.rsplit("/", 2)[-2]
    page.goto(f"{live_server}/{LANG}/account/history")
    _checked(page)
    row = page.locator(f"tr:has-text('{number}')")
    assert row.count() == 1 and row.is_visible()
    screenshot(page, f"walk-{slug}-history-kk-360")
    assert page.console_errors == []

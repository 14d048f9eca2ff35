"""The form and layout macros (templates/components/) and static/css/portal.css.

Rendered in a bare Jinja2 environment (no Flask app), with the i18n extension
installed the way flask-babel installs it (newstyle gettext), so the macros
are checked on their own: markup parses strictly, ids and labels link up,
error states and escaping are right, and every visible string is translated.
"""

from __future__ import annotations

import re
from pathlib import Path

import html5lib
import jinja2
import pytest
from markupsafe import Markup

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CSS = ROOT / "static" / "css" / "portal.css"

FORM_MACROS = (
    "text_input textarea date_input radios checkboxes select file_upload fieldset "
    "summary_list error_summary notification_banner button back_link step_indicator"
).split()
LAYOUT_MACROS = "breadcrumbs panel tag inset details warning".split()

XSS = '"><script>alert(1)</script>'


def make_env(gettext=None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    if gettext is None:
        env.install_null_translations(newstyle=True)
    else:
        env.install_gettext_callables(
            gettext=gettext,
            ngettext=lambda s, p, n: gettext(s if n == 1 else p),
            newstyle=True,
        )
    return env


ENV = make_env()


def render(call: str, env: jinja2.Environment = ENV, **context) -> str:
    """Render `call` (a Jinja expression or {% call %} block) with every macro imported."""
    source = (
        '{% from "components/forms.html" import ' + ", ".join(FORM_MACROS) + " %}"
        '{% from "components/layout.html" import ' + ", ".join(LAYOUT_MACROS) + " %}"
    )
    if "{{" not in call and "{%" not in call:
        call = "{{ " + call + " }}"
    return env.from_string(source + call).render(Markup=Markup, **context)


def parse(html: str):
    """Strict HTML5 parse of a fragment: any parse error raises."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parseFragment(html)


def text_of(el) -> str:
    return re.sub(r"\s+", " ", "".join(el.itertext())).strip()


def check_markup(html: str):
    """Parse strictly and check what must hold for every component."""
    root = parse(html)
    elements = list(root.iter())
    ids = [el.get("id") for el in elements if el.get("id")]
    assert len(ids) == len(set(ids)), f"duplicate ids: {ids}"
    for el in elements:
        for ref_attr in ("for", "aria-describedby", "aria-labelledby"):
            for ref in (el.get(ref_attr) or "").split():
                assert ref in ids, f"{ref_attr}={ref!r} points at nothing"
        assert "style" not in el.attrib, "inline style (CSP style-src 'self')"
        assert not [a for a in el.attrib if a.lower().startswith("on")], "inline handler"
        assert el.tag != "script", "inline script"
        assert el.tag != "style", "inline style element"
    return root


def find(root, tag: str, **attrs):
    found = [
        el
        for el in root.iter(tag)
        if all(
            (el.get(k.rstrip("_").replace("_", "-")) or "") == v
            if not isinstance(v, re.Pattern)
            else v.search(el.get(k.rstrip("_").replace("_", "-")) or "")
            for k, v in attrs.items()
        )
    ]
    return found


def one(root, tag: str, **attrs):
    found = find(root, tag, **attrs)
    assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
    return found[0]


def classes(el) -> set[str]:
    return set((el.get("class") or "").split())


# ───────────────────────────── text_input ─────────────────────────────


def test_text_input_label_and_id_link_up():
    root = check_markup(render("text_input('full_name', 'Full name')"))
    label = one(root, "label")
    field = one(root, "input")
    assert field.get("id") == "full_name" == label.get("for")
    assert field.get("name") == "full_name"
    assert field.get("type") == "text"
    assert field.get("aria-describedby") is None
    assert field.get("aria-invalid") is None
    group = one(root, "div", class_=re.compile(r"\bq-form-group\b"))
    assert "q-form-group--error" not in classes(group)
    assert "(optional)" not in text_of(root)


def test_text_input_hint_and_error_are_described():
    root = check_markup(
        render("text_input('iin', 'IIN', value='123', hint='12 digits', error='Enter your IIN')")
    )
    field = one(root, "input")
    assert field.get("aria-describedby").split() == ["iin-hint", "iin-error"]
    assert field.get("aria-invalid") == "true"
    assert "q-input--error" in classes(field)
    assert text_of(one(root, "div", id="iin-hint")) == "12 digits"
    error = one(root, "p", id="iin-error")
    assert "q-error-message" in classes(error)
    hidden = one(error, "span", class_="q-visually-hidden")
    assert text_of(hidden) == "Error:"
    assert text_of(error) == "Error: Enter your IIN"
    assert "q-form-group--error" in classes(root[0])


def test_text_input_hint_only():
    root = check_markup(render("text_input('iin', 'IIN', hint='12 digits')"))
    assert one(root, "input").get("aria-describedby") == "iin-hint"
    assert not find(root, "p", class_="q-error-message")


def test_text_input_optional_and_options():
    root = check_markup(
        render(
            "text_input('phone', 'Mobile phone', optional=True, type='tel', inputmode='tel',"
            " autocomplete='tel', spellcheck=False, width='20')"
        )
    )
    assert text_of(one(root, "label")) == "Mobile phone (optional)"
    field = one(root, "input")
    assert field.get("type") == "tel"
    assert field.get("inputmode") == "tel"
    assert field.get("autocomplete") == "tel"
    assert field.get("spellcheck") == "false"
    assert "q-input--width-20" in classes(field)


def test_text_input_unknown_width_is_ignored():
    root = check_markup(render("text_input('x', 'X', width='7')"))
    assert not [c for c in classes(one(root, "input")) if c.startswith("q-input--width")]


def test_text_input_id_from_dotted_and_bracketed_name():
    root = check_markup(
        render("text_input('children[0].name', 'Name', hint='As on the certificate', error='Bad')")
    )
    field = one(root, "input")
    assert field.get("name") == "children[0].name"
    assert field.get("id") == "children-0-name"
    assert one(root, "label").get("for") == "children-0-name"
    assert field.get("aria-describedby") == "children-0-name-hint children-0-name-error"


def test_text_input_explicit_id_wins():
    root = check_markup(render("text_input('q', 'Search', id='search-q')"))
    assert one(root, "input").get("id") == "search-q" == one(root, "label").get("for")


def test_text_input_escapes_value_label_hint_and_error():
    html = render(
        "text_input('x', xss, value=xss, hint=xss, error=xss, prefix=xss)", xss=XSS
    )
    assert "<script>" not in html
    root = check_markup(html)
    assert one(root, "input").get("value") == XSS
    assert XSS in text_of(one(root, "label"))
    assert not list(root.iter("script"))


def test_text_input_label_as_page_heading():
    root = check_markup(render("text_input('iin', 'What is your IIN?', label_is_heading=True)"))
    h1 = one(root, "h1")
    assert "q-label-wrapper" in classes(h1)
    label = one(h1, "label")
    assert "q-label--l" in classes(label)
    assert label.get("for") == "iin"


def test_text_input_prefix_and_suffix_are_hidden_from_screen_readers():
    root = check_markup(render("text_input('amount', 'Amount, in tenge', prefix='₸', suffix='per month')"))
    prefix = one(root, "div", class_="q-input__prefix")
    suffix = one(root, "div", class_="q-input__suffix")
    assert prefix.get("aria-hidden") == suffix.get("aria-hidden") == "true"
    assert text_of(prefix) == "₸"
    wrapper = one(root, "div", class_="q-input__wrapper")
    assert [el.tag for el in wrapper] == ["div", "input", "div"]


def test_text_input_attrs_are_escaped_and_merged():
    html = render(
        "text_input('x', 'X', hint='h', attrs={'data-x': xss, 'class': 'q-js-extra', 'required': True,"
        " 'disabled': False, 'aria-describedby': 'other-hint', 'hx-get': '/check'})",
        xss=XSS,
    )
    assert "<script>" not in html
    # other-hint is outside the fragment, so only parse, then check by hand.
    root = parse(html)
    field = one(root, "input")
    assert field.get("data-x") == XSS
    assert field.get("required") == "required"
    assert "disabled" not in field.attrib
    assert field.get("hx-get") == "/check"
    assert {"q-input", "q-js-extra"} <= classes(field)
    assert field.get("aria-describedby").split() == ["x-hint", "other-hint"]


def test_attrs_with_bad_keys_are_refused():
    with pytest.raises(ValueError):
        render("text_input('x', 'X', attrs={'onclick=alert(1) x': 'y'})")


# ───────────────────────────── textarea ─────────────────────────────


def test_textarea():
    html = render(
        "textarea('details', 'Details', value=xss, hint='Max 500 characters', error='Too long',"
        " optional=True, rows=8)",
        xss=XSS,
    )
    assert "<script>" not in html
    root = check_markup(html)
    area = one(root, "textarea")
    assert area.get("id") == "details" == one(root, "label").get("for")
    assert area.get("rows") == "8"
    assert area.text == XSS
    assert area.get("aria-describedby") == "details-hint details-error"
    assert area.get("aria-invalid") == "true"
    assert "(optional)" in text_of(one(root, "label"))


def test_textarea_keeps_a_leading_newline():
    root = check_markup(render("textarea('t', 'T', value='\\nsecond line')"))
    assert one(root, "textarea").text == "\nsecond line"


# ───────────────────────────── date_input ─────────────────────────────


def test_date_input_fields():
    root = check_markup(
        render(
            "date_input('birth_date', 'Date of birth', value={'day': '7', 'month': '3', 'year': '2007'},"
            " hint='For example, 27 3 2007', autocomplete='bday')"
        )
    )
    fieldset = one(root, "fieldset")
    assert fieldset.get("role") == "group"
    assert fieldset.get("aria-describedby") == "birth_date-hint"
    assert text_of(one(root, "legend")) == "Date of birth"
    inputs = list(root.iter("input"))
    assert [i.get("name") for i in inputs] == ["birth_date-day", "birth_date-month", "birth_date-year"]
    assert [i.get("id") for i in inputs] == ["birth_date-day", "birth_date-month", "birth_date-year"]
    assert [i.get("value") for i in inputs] == ["7", "3", "2007"]
    assert {i.get("inputmode") for i in inputs} == {"numeric"}
    assert [i.get("autocomplete") for i in inputs] == ["bday-day", "bday-month", "bday-year"]
    labels = {label.get("for"): text_of(label) for label in root.iter("label")}
    assert labels == {"birth_date-day": "Day", "birth_date-month": "Month", "birth_date-year": "Year"}
    assert "q-input--width-4" in classes(inputs[2])
    assert not [i for i in inputs if "q-input--error" in classes(i)]


def test_date_input_error_marks_all_fields_by_default():
    root = check_markup(render("date_input('d', 'Date', error='Enter a date')"))
    inputs = list(root.iter("input"))
    assert all("q-input--error" in classes(i) for i in inputs)
    assert all(i.get("aria-invalid") == "true" for i in inputs)
    assert [i.get("value") for i in inputs] == ["", "", ""]
    assert one(root, "fieldset").get("aria-describedby") == "d-error"
    assert "q-form-group--error" in classes(root[0])


def test_date_input_error_fields_mark_only_those():
    root = check_markup(
        render("date_input('d', 'Date', value={'day': '1'}, error='Enter a month', error_fields=['month'])")
    )
    inputs = {i.get("name"): i for i in root.iter("input")}
    assert "q-input--error" in classes(inputs["d-month"])
    assert "q-input--error" not in classes(inputs["d-day"])
    assert "q-input--error" not in classes(inputs["d-year"])
    assert inputs["d-day"].get("value") == "1"


def test_date_input_accepts_a_date_and_legend_as_heading():
    import datetime as dt

    root = check_markup(
        render("date_input('d', 'When?', value=when, legend_is_heading=True, optional=True)", when=dt.date(2024, 2, 9))
    )
    assert [i.get("value") for i in root.iter("input")] == ["9", "2", "2024"]
    h1 = one(one(root, "legend"), "h1")
    assert "q-fieldset__heading" in classes(h1)
    assert text_of(h1) == "When? (optional)"


def test_date_input_escapes_values():
    html = render("date_input('d', 'Date', value={'day': xss})", xss=XSS)
    assert "<script>" not in html
    assert one(check_markup(html), "input", name="d-day").get("value") == XSS


# ───────────────────────────── radios ─────────────────────────────

ITEMS = "[{'value': 'bank', 'text': 'Bank account', 'hint': 'You need an IBAN'}, {'value': 'post', 'text': 'Kazpost'}, {'divider': _('or')}, {'value': 'unknown', 'text': 'I do not know'}]"


def test_radios_ids_labels_and_checked():
    root = check_markup(
        render(f"radios('payment_method', 'How do you want to be paid?', {ITEMS}, value='post', hint='Choose one')")
    )
    inputs = list(root.iter("input"))
    assert [i.get("id") for i in inputs] == ["payment_method", "payment_method-2", "payment_method-3"]
    assert {i.get("name") for i in inputs} == {"payment_method"}
    assert {i.get("type") for i in inputs} == {"radio"}
    assert [i.get("value") for i in inputs] == ["bank", "post", "unknown"]
    assert ["checked" in i.attrib for i in inputs] == [False, True, False]
    labels = [(label.get("for"), text_of(label)) for label in root.iter("label")]
    assert labels == [
        ("payment_method", "Bank account"),
        ("payment_method-2", "Kazpost"),
        ("payment_method-3", "I do not know"),
    ]
    assert inputs[0].get("aria-describedby") == "payment_method-item-hint"
    assert text_of(one(root, "div", id="payment_method-item-hint")) == "You need an IBAN"
    assert text_of(one(root, "div", class_="q-radios__divider")) == "or"
    assert one(root, "fieldset").get("aria-describedby") == "payment_method-hint"
    assert "q-radios--inline" not in classes(one(root, "div", class_=re.compile(r"\bq-radios\b(?!_)")))


def test_radios_error_inline_optional_heading():
    root = check_markup(
        render(
            "radios('married', 'Are you married?', [{'value': 'yes', 'text': 'Yes'}, {'value': 'no', 'text': 'No'}],"
            " error='Select yes or no', inline=True, optional=True, legend_is_heading=True)"
        )
    )
    assert "q-form-group--error" in classes(root[0])
    assert one(root, "fieldset").get("aria-describedby") == "married-error"
    assert text_of(one(root, "p", id="married-error")) == "Error: Select yes or no"
    assert one(root, "div", class_="q-radios q-radios--inline") is not None
    assert text_of(one(one(root, "legend"), "h1")) == "Are you married? (optional)"
    assert not [i for i in root.iter("input") if "checked" in i.attrib]


def test_radios_value_compared_as_string():
    root = check_markup(
        render("radios('n', 'N', [{'value': 1, 'text': 'One'}, {'value': 2, 'text': 'Two'}], value='2')")
    )
    assert [i.get("id") for i in root.iter("input") if "checked" in i.attrib] == ["n-2"]


def test_radios_escape_item_text_and_value():
    html = render("radios('r', 'R', [{'value': xss, 'text': xss, 'hint': xss}])", xss=XSS)
    assert "<script>" not in html
    root = check_markup(html)
    assert one(root, "input").get("value") == XSS


# ───────────────────────────── checkboxes ─────────────────────────────


def test_checkboxes():
    root = check_markup(
        render(
            "checkboxes('documents', 'Which documents do you have?',"
            " [{'value': 'birth', 'text': 'Birth certificate'}, {'value': 'disability', 'text': 'Disability certificate', 'hint': 'From the commission'},"
            "  {'value': 'none', 'text': 'None'}], values=['birth', 'none'], error='Select at least one', optional=True)"
        )
    )
    inputs = list(root.iter("input"))
    assert [i.get("id") for i in inputs] == ["documents", "documents-2", "documents-3"]
    assert {i.get("type") for i in inputs} == {"checkbox"}
    assert {i.get("name") for i in inputs} == {"documents"}
    assert [i.get("value") for i in inputs if "checked" in i.attrib] == ["birth", "none"]
    assert inputs[1].get("aria-describedby") == "documents-2-item-hint"
    assert one(root, "fieldset").get("aria-describedby") == "documents-error"
    assert "(optional)" in text_of(one(root, "legend"))


def test_checkboxes_single_string_value():
    root = check_markup(
        render("checkboxes('c', 'C', [{'value': 'ab', 'text': 'AB'}, {'value': 'a', 'text': 'A'}], values='ab')")
    )
    assert [i.get("value") for i in root.iter("input") if "checked" in i.attrib] == ["ab"]


# ───────────────────────────── select, file upload ─────────────────────────────


def test_select():
    html = render(
        "select('region', 'Region', [{'value': '', 'text': 'Choose'}, {'value': 'ala', 'text': 'Almaty'},"
        " {'value': 'ast', 'text': xss}], value='ast', hint='Where you live', error='Choose a region')",
        xss=XSS,
    )
    assert "<script>" not in html
    root = check_markup(html)
    sel = one(root, "select")
    assert sel.get("id") == "region" == one(root, "label").get("for")
    assert sel.get("aria-describedby") == "region-hint region-error"
    assert sel.get("aria-invalid") == "true"
    options = list(sel.iter("option"))
    assert [o.get("value") for o in options] == ["", "ala", "ast"]
    assert [o.get("value") for o in options if "selected" in o.attrib] == ["ast"]
    assert options[2].text == XSS


def test_select_optional_heading():
    root = check_markup(
        render("select('s', 'Pick one', [{'value': 'a', 'text': 'A'}], optional=True, label_is_heading=True)")
    )
    assert text_of(one(one(root, "h1"), "label")) == "Pick one (optional)"


def test_file_upload():
    root = check_markup(
        render(
            "file_upload('scan', 'Upload the certificate', hint='PDF or JPG', accept='.pdf,.jpg',"
            " multiple=True, error='The file must be smaller than 5 MB', optional=True)"
        )
    )
    field = one(root, "input")
    assert field.get("type") == "file"
    assert field.get("accept") == ".pdf,.jpg"
    assert "multiple" in field.attrib
    assert field.get("aria-describedby") == "scan-hint scan-error"
    assert field.get("aria-invalid") == "true"
    assert "(optional)" in text_of(one(root, "label"))


def test_file_upload_single():
    root = check_markup(render("file_upload('scan', 'Upload')"))
    field = one(root, "input")
    assert "multiple" not in field.attrib
    assert "accept" not in field.attrib


# ───────────────────────────── fieldset ─────────────────────────────


def test_fieldset_wraps_caller():
    root = check_markup(
        render(
            "{% call fieldset('Your address', hint='Where you live now', error='Enter your address', id='address') %}"
            "{{ text_input('address.street', 'Street') }}{% endcall %}"
        )
    )
    fs = one(root, "fieldset")
    assert fs.get("aria-describedby") == "address-hint address-error"
    assert text_of(one(fs, "legend")) == "Your address"
    assert one(fs, "input").get("id") == "address-street"


# ───────────────────────────── summary list ─────────────────────────────


def test_summary_list_change_links_and_escaping():
    html = render(
        "summary_list([{'key': 'Child’s name', 'value': xss, 'change_url': '/apply/child?x=1&y=2', 'change_hidden': 'child’s name'},"
        " {'key': 'Address', 'value': Markup('Abay 1<br>Almaty')},"
        " {'key': 'Children', 'value': ['Alikhan', 'Dana']}], actions_heading='Your details')",
        xss=XSS,
    )
    assert "<script>" not in html
    assert 'href="/apply/child?x=1&amp;y=2"' in html
    root = check_markup(html)
    assert text_of(one(root, "h2")) == "Your details"
    dl = one(root, "dl")
    assert "q-summary-list" in classes(dl)
    rows = [el for el in dl if el.tag == "div"]
    assert len(rows) == 3
    assert text_of(one(rows[0], "dt")) == "Child’s name"
    assert text_of(one(rows[0], "dd", class_="q-summary-list__value")) == XSS
    link = one(rows[0], "a")
    assert link.get("href") == "/apply/child?x=1&y=2"
    assert text_of(link) == "Change child’s name"
    assert text_of(one(link, "span", class_="q-visually-hidden")) == "child’s name"
    # Markup values are not escaped; lists become paragraphs.
    assert find(rows[1], "br")
    assert [text_of(p) for p in rows[2].iter("p")] == ["Alikhan", "Dana"]
    # rows without a change link keep the columns aligned
    assert "q-summary-list__row--no-actions" in classes(rows[1])
    assert "q-summary-list__row--no-actions" not in classes(rows[0])


def test_summary_list_without_actions():
    root = check_markup(render("summary_list([{'key': 'IIN', 'value': '900101300123'}])"))
    assert "q-summary-list--no-actions" in classes(one(root, "dl"))
    assert not find(root, "a")
    assert not find(root, "h2")


# ───────────────────────────── error summary ─────────────────────────────


def test_error_summary_absent_without_errors():
    assert render("error_summary([])").strip() == ""
    assert render("error_summary(None)").strip() == ""


def test_error_summary():
    html = render(
        "error_summary([{'text': 'Enter your IIN', 'href': '#iin'}, {'text': xss, 'href': '#payment_method'}])",
        xss=XSS,
    )
    assert "<script>" not in html
    root = check_markup(html)
    box = one(root, "div", class_="q-error-summary")
    assert box.get("data-module") == "error-summary"
    assert box.get("tabindex") == "-1"
    assert box.get("role") == "alert"
    assert box.get("aria-labelledby") == "error-summary-title"
    title = one(box, "h2")
    assert title.get("id") == "error-summary-title"
    assert text_of(title) == "There is a problem"
    links = list(box.iter("a"))
    assert [a.get("href") for a in links] == ["#iin", "#payment_method"]
    assert text_of(links[1]) == XSS


def test_error_summary_links_reach_the_fields():
    """The hrefs the conventions promise exist in the rendered fields."""
    page = render(
        "text_input('iin', 'IIN', error='e') ~ radios('kind', 'Kind', [{'value': 'a', 'text': 'A'}], error='e')"
        " ~ date_input('dob', 'Date of birth', error='e') ~ checkboxes('docs', 'Docs', [{'value': 'a', 'text': 'A'}], error='e')"
    )
    ids = {el.get("id") for el in check_markup(page).iter() if el.get("id")}
    assert {"iin", "kind", "dob-day", "docs"} <= ids


# ───────────────────────────── notification banner ─────────────────────────────


def test_notification_banner_success_is_an_alert():
    root = check_markup(
        render(
            "{% call notification_banner('Application sent', type='success') %}"
            "<p class=\"q-body\">Number 123</p>{% endcall %}"
        )
    )
    banner = root[0]
    assert {"q-notification-banner", "q-notification-banner--success"} <= classes(banner)
    assert banner.get("role") == "alert"
    title = one(root, "h2")
    assert banner.get("aria-labelledby") == title.get("id")
    assert text_of(title) == "Application sent"
    assert text_of(one(root, "div", class_="q-notification-banner__content")) == "Number 123"


def test_notification_banner_info_is_a_labelled_region():
    root = check_markup(render("{% call notification_banner(None, id='news') %}Body{% endcall %}"))
    banner = root[0]
    assert banner.get("role") == "region"
    assert "q-notification-banner--success" not in classes(banner)
    assert banner.get("aria-labelledby") == "news-title"
    assert text_of(one(root, "h2", id="news-title")) == "Important"
    assert banner.get("tabindex") is None


def test_notification_banner_role_override():
    root = check_markup(render("{% call notification_banner('T', type='success', role='status') %}x{% endcall %}"))
    assert root[0].get("role") == "status"


# ───────────────────────────── button, back link, step ─────────────────────────────


def test_button_defaults():
    root = check_markup(render("button('Continue')"))
    btn = one(root, "button")
    assert btn.get("type") == "submit"
    assert classes(btn) == {"q-button"}
    assert btn.get("data-prevent-double-click") == "true"
    assert text_of(btn) == "Continue"


def test_button_variants_name_value_attrs():
    root = check_markup(
        render(
            "button('Save', type='submit', variant='secondary', name='action', value='save',"
            " attrs={'formnovalidate': True, 'hx-post': '/x'}, prevent_double_click=False)"
        )
    )
    btn = one(root, "button")
    assert classes(btn) == {"q-button", "q-button--secondary"}
    assert (btn.get("name"), btn.get("value")) == ("action", "save")
    assert btn.get("formnovalidate") == "formnovalidate"
    assert btn.get("hx-post") == "/x"
    assert "data-prevent-double-click" not in btn.attrib
    assert "q-button--warning" in classes(one(check_markup(render("button('Delete', variant='warning')")), "button"))
    assert classes(one(check_markup(render("button('X', variant='nonsense')")), "button")) == {"q-button"}


def test_button_as_start_link():
    html = render("button('Request Online', href='/kk/services/x/apply?a=1&b=2', variant='start')")
    root = check_markup(html)
    link = one(root, "a")
    assert link.get("role") == "button"
    assert link.get("draggable") == "false"
    assert link.get("href") == "/kk/services/x/apply?a=1&b=2"
    assert {"q-button", "q-button--start"} <= classes(link)
    assert not find(root, "button")
    assert not find(root, "img") and not find(root, "svg")  # the arrow is CSS


def test_back_link():
    root = check_markup(render("back_link('/kk/services')"))
    link = one(root, "a")
    assert classes(link) == {"q-back-link"}
    assert text_of(link) == "Back"
    assert text_of(one(check_markup(render("back_link('/', 'Back to services')")), "a")) == "Back to services"


def test_step_indicator():
    root = check_markup(render("step_indicator(2, 5)"))
    span = one(root, "span")
    assert classes(span) == {"q-caption-m", "q-step"}
    assert text_of(span) == "Step 2 of 5"
    assert text_of(one(check_markup(render("step_indicator(2, None)")), "span")) == "Step 2"


# ───────────────────────────── layout macros ─────────────────────────────


def test_breadcrumbs():
    html = render(
        "breadcrumbs([{'text': 'Services', 'href': '/kk/services'}, {'text': xss, 'href': '/kk/services/x'},"
        " {'text': 'Request Online'}])",
        xss=XSS,
    )
    assert "<script>" not in html
    root = check_markup(html)
    nav = one(root, "nav")
    assert "q-breadcrumbs" in classes(nav)
    assert nav.get("aria-label") == "Breadcrumbs"
    items = list(one(nav, "ol").iter("li"))
    assert len(items) == 3
    assert [a.get("href") for a in nav.iter("a")] == ["/kk/services", "/kk/services/x"]
    assert not find(items[-1], "a")
    assert items[-1].get("aria-current") == "page"
    assert text_of(items[-1]) == "Request Online"


def test_panel():
    root = check_markup(
        render("{% call panel('Application sent') %}Your number<br><strong>KZ-1</strong>{% endcall %}")
    )
    assert text_of(one(root, "h1", class_="q-panel__title")) == "Application sent"
    body = one(root, "div", class_="q-panel__body")
    assert text_of(one(body, "strong")) == "KZ-1"
    assert find(body, "br")
    root = check_markup(render("panel('Sent', body='No. 5', heading_level=2)"))
    assert text_of(one(root, "h2")) == "Sent"


def test_tag():
    root = check_markup(render("tag('Approved', 'green')"))
    assert classes(one(root, "strong")) == {"q-tag", "q-tag--green"}
    assert classes(one(check_markup(render("tag('Draft')")), "strong")) == {"q-tag"}
    assert classes(one(check_markup(render("tag('X', 'pink')")), "strong")) == {"q-tag"}


def test_inset_details_warning():
    root = check_markup(render("{% call inset() %}<p>Text</p>{% endcall %}"))
    assert "q-inset-text" in classes(root[0])
    root = check_markup(render("inset('Only text')"))
    assert text_of(root[0]) == "Only text"

    root = check_markup(render("{% call details('Help with IBAN') %}Ask your bank{% endcall %}"))
    det = one(root, "details")
    assert "open" not in det.attrib
    assert text_of(one(det, "summary")) == "Help with IBAN"
    assert text_of(one(det, "div", class_="q-details__text")) == "Ask your bank"

    root = check_markup(render("warning('You can be fined')"))
    icon = one(root, "span", class_="q-warning-text__icon")
    assert icon.get("aria-hidden") == "true"
    assert text_of(icon) == "!"
    strong = one(root, "strong")
    assert text_of(one(strong, "span", class_="q-visually-hidden")) == "Warning"
    assert text_of(strong) == "Warning You can be fined"


# ───────────────────────────── translation ─────────────────────────────


def test_every_visible_string_goes_through_gettext():
    """Render everything with a gettext that marks what it translated; the only
    unmarked visible text left must be what the test passed in (also marked)."""
    env = make_env(gettext=lambda s: "⟦" + s + "⟧")
    m = lambda s: "⟦" + s + "⟧"  # noqa: E731 - caller-supplied text, pre-marked
    everything = render(
        """
        {{ text_input('a', m('A'), hint=m('h'), error=m('e'), optional=True, prefix=m('₸')) }}
        {{ textarea('b', m('B'), optional=True) }}
        {{ date_input('c', m('C'), error=m('e'), optional=True) }}
        {{ radios('d', m('D'), [{'value': 'x', 'text': m('X'), 'hint': m('hx')}, {'divider': _('or')}, {'value': 'y', 'text': m('Y')}], optional=True) }}
        {{ checkboxes('e', m('E'), [{'value': 'x', 'text': m('X')}], optional=True) }}
        {{ select('f', m('F'), [{'value': 'x', 'text': m('X')}], optional=True) }}
        {{ file_upload('g', m('G'), optional=True) }}
        {% call fieldset(m('H'), id='h') %}{% endcall %}
        {{ summary_list([{'key': m('K'), 'value': m('V'), 'change_url': '/c', 'change_hidden': m('k')}]) }}
        {{ error_summary([{'text': m('T'), 'href': '#a'}]) }}
        {% call notification_banner() %}{% endcall %}
        {% call notification_banner(type='success', id='n2') %}{% endcall %}
        {{ button(m('Go')) }}{{ back_link('/') }}{{ step_indicator(1, 3) }}
        {{ breadcrumbs([{'text': m('S'), 'href': '/'}, {'text': m('P')}]) }}
        {{ panel(m('Sent'), body=m('b')) }}{{ tag(m('t')) }}{{ inset(m('i')) }}
        {% call details(m('s')) %}{% endcall %}{{ warning(m('w')) }}
        """,
        env=env,
        m=m,
    )
    root = check_markup(everything)
    leftovers = []

    def walk(el):
        if el.get("aria-hidden") == "true":
            return
        for attr in ("aria-label", "title", "placeholder", "alt"):
            if el.get(attr):
                leftovers.extend(re.split(r"⟦[^⟧]*⟧", el.get(attr)))
        leftovers.extend(re.split(r"⟦[^⟧]*⟧", el.text or ""))
        for child in el:
            walk(child)
            leftovers.extend(re.split(r"⟦[^⟧]*⟧", child.tail or ""))

    walk(root)
    untranslated = [t.strip() for t in leftovers if re.search(r"\w", t)]
    assert untranslated == []
    # spot-check that the macros' own strings were indeed translated
    for s in ("(optional)", "Error:", "Day", "Month", "Year", "Change", "There is a problem",
              "Important", "Success", "Back", "Step 1 of 3", "Warning", "Breadcrumbs"):
        assert "⟦" + s + "⟧" in everything, s


# ───────────────────────────── stylesheet ─────────────────────────────

CSS_TEXT = CSS.read_text(encoding="utf-8")
CSS_NO_COMMENTS = re.sub(r"/\*.*?\*/", "", CSS_TEXT, flags=re.S)


def test_css_loads_nothing_from_outside():
    css = CSS_NO_COMMENTS.lower()
    assert "url(http" not in css.replace(" ", "").replace('"', "").replace("'", "")
    assert "url(//" not in css.replace(" ", "").replace('"', "").replace("'", "")
    assert "@import" not in css
    assert "@font-face" not in css
    assert "url(" not in css, "no images at all: icons are drawn in CSS"


def test_css_is_balanced():
    assert CSS_NO_COMMENTS.count("{") == CSS_NO_COMMENTS.count("}")


def css_has_class(name: str) -> bool:
    return re.search(r"\." + re.escape(name) + r"(?![\w-])", CSS_NO_COMMENTS) is not None


REQUIRED_CLASSES = """
q-skip-link q-header q-header__inner q-header__brand q-header__nav q-header__badge q-lang-switcher
q-width-container q-main q-footer q-phase-banner q-breadcrumbs
q-heading-xl q-heading-l q-heading-m q-heading-s q-caption-m q-body q-body-l q-hint q-list
q-list--bullet q-list--number q-link q-inset-text q-warning-text q-details q-tag q-tag--grey
q-tag--green q-tag--red q-tag--yellow q-tag--blue q-section-break q-visually-hidden q-grid-row
q-grid-column-two-thirds q-grid-column-one-third q-service-list q-service-card q-service-card__title
q-service-card__summary q-service-card__meta q-filter q-passport q-start-button q-table
q-table__header q-table__cell q-table-container q-panel q-notification-banner
q-notification-banner--success q-timeline q-timeline__item q-loading htmx-indicator htmx-request
q-button q-button--secondary q-button--warning q-button--start q-back-link q-error-summary
q-form-group q-form-group--error q-error-message q-label q-input q-textarea q-select
q-file-upload q-radios q-checkboxes q-date-input q-summary-list
""".split()


@pytest.mark.parametrize("name", REQUIRED_CLASSES)
def test_css_styles_the_agreed_classes(name):
    assert css_has_class(name), name


def test_css_styles_every_class_the_macros_use():
    everything = render(
        """
        {{ text_input('a', 'A', hint='h', error='e', width='2', prefix='p', suffix='s', label_is_heading=True) }}
        {{ textarea('b', 'B', error='e') }}{{ date_input('c', 'C', error='e', legend_is_heading=True) }}
        {{ radios('d', 'D', [{'value': 'x', 'text': 'X', 'hint': 'h'}, {'divider': 'or'}], inline=True, error='e') }}
        {{ checkboxes('e', 'E', [{'value': 'x', 'text': 'X', 'hint': 'h'}, {'divider': 'or'}]) }}
        {{ select('f', 'F', [{'value': 'x', 'text': 'X'}], error='e') }}{{ file_upload('g', 'G', error='e') }}
        {{ summary_list([{'key': 'K', 'value': 'V', 'change_url': '/c'}, {'key': 'K'}], actions_heading='H') }}
        {{ summary_list([{'key': 'K', 'value': 'V'}]) }}
        {{ error_summary([{'text': 'T', 'href': '#a'}]) }}
        {% call notification_banner('x', type='success', id='n1') %}{% endcall %}
        {{ button('a') }}{{ button('a', variant='secondary') }}{{ button('a', variant='warning') }}
        {{ button('a', href='/', variant='start') }}{{ back_link('/') }}{{ step_indicator(1, 2) }}
        {{ breadcrumbs([{'text': 'S', 'href': '/'}, {'text': 'P'}]) }}{{ panel('T', body='b') }}
        {% for c in [None, 'grey', 'green', 'red', 'yellow', 'blue'] %}{{ tag('t', c) }}{% endfor %}
        {{ inset('i') }}{% call details('s') %}{% endcall %}{{ warning('w') }}
        """
    )
    used = set()
    for el in parse(everything).iter():
        used |= {c for c in classes(el) if c.startswith("q-")}
    missing = sorted(c for c in used if not css_has_class(c))
    assert missing == []


def test_css_accessibility_features_present():
    css = CSS_NO_COMMENTS
    assert "@media (prefers-reduced-motion: reduce)" in css
    assert "@media print" in css
    assert "@media (forced-colors: active)" in css
    # htmx indicator rules (htmx's own are disabled under the CSP)
    assert re.search(r"\.htmx-indicator\s*\{\s*opacity:\s*0;?\s*\}", css)
    assert re.search(
        r"\.htmx-request \.htmx-indicator,\s*\.htmx-request\.htmx-indicator\s*\{[^}]*opacity:\s*1;[^}]*transition:\s*opacity 200ms ease-in",
        css,
    )
    # .q-loading hidden unless requested
    assert re.search(r"\.q-loading\s*\{[^}]*display:\s*none", css)
    assert re.search(r"\.htmx-request \.q-loading", css)
    # focus indicators are at least 3px
    for width in re.findall(r"outline:\s*(\d+)px solid", css):
        assert int(width) >= 3
    # 44px controls
    assert re.search(r"\.q-button,\s*\.q-start-button\s*\{[^}]*min-height:\s*2\.75rem", css)
    assert re.search(r"\.q-input,\s*\.q-textarea,\s*\.q-select\s*\{[^}]*min-height:\s*2\.75rem", css)


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


TOKENS = dict(re.findall(r"(--q-[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", CSS_TEXT))


@pytest.mark.parametrize(
    "fg,bg,minimum",
    [
        ("--q-ink", "--q-white", 4.5),
        ("--q-ink", "--q-light", 4.5),
        ("--q-secondary-text", "--q-white", 4.5),
        ("--q-secondary-text", "--q-light", 4.5),
        ("--q-white", "--q-brand", 4.5),
        ("--q-white", "--q-primary", 4.5),
        ("--q-white", "--q-primary-hover", 4.5),
        ("--q-link", "--q-white", 4.5),
        ("--q-link", "--q-light", 4.5),
        ("--q-link-hover", "--q-white", 4.5),
        ("--q-link-visited", "--q-white", 4.5),
        ("--q-error", "--q-white", 4.5),
        ("--q-white", "--q-error", 4.5),
        ("--q-white", "--q-success", 4.5),
        ("--q-ink", "--q-focus", 4.5),
        ("--q-ink", "--q-accent", 4.5),
        ("--q-ink", "--q-secondary-bg", 4.5),
        ("--q-focus", "--q-brand", 3),
        ("--q-focus", "--q-primary", 3),
        ("--q-border-strong", "--q-white", 3),
    ],
)
def test_palette_contrast(fg, bg, minimum):
    assert contrast(TOKENS[fg], TOKENS[bg]) >= minimum


@pytest.mark.parametrize(
    "selector",
    ["", "--grey", "--green", "--red", "--yellow", "--blue"],
)
def test_tag_contrast(selector):
    block = re.search(r"(?m)^\.q-tag" + re.escape(selector) + r"\s*\{([^}]*)\}", CSS_NO_COMMENTS).group(1)
    fg = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", block).group(1)
    bg = re.search(r"background-color:\s*(#[0-9a-fA-F]{6})", block).group(1)
    assert contrast(fg, bg) >= 4.5

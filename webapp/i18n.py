"""Languages: the first path segment picks kk, ru or en; locale-aware formatting."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from babel.numbers import format_currency
from flask import Flask, abort, current_app, g, has_request_context, request, url_for
from flask.globals import _cv_app
from flask_babel import format_decimal, format_time, get_locale, get_translations
from flask_babel import lazy_gettext as _l

from webapp.clock import zone

log = logging.getLogger(__name__)

LANGUAGES = ("kk", "ru", "en")
DEFAULT_LANGUAGE = "kk"

# Each language named in itself, for the switcher.
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}

# CLDR has Kazakhstan-specific kk and ru locales, whose currency symbol is ₸.
# It has no en_KZ: English shows ₸ before the amount with English digits.
_MONEY_LOCALES = {"kk": "kk_KZ", "ru": "ru_KZ"}


def language_from_path(path: str) -> str | None:
    """The language the first path segment names, if it names one."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in LANGUAGES else None


def best_language() -> str:
    """The citizen's language by Accept-Language, falling back to Kazakh."""
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_locale() -> str:
    """flask-babel's locale selector: the URL's language first."""
    if "lang_code" in g:
        return g.lang_code
    return language_from_path(request.path) or best_language()


def current_language() -> str:
    """The language of the page being rendered (force_locale's, when one is forced)."""
    _namespace, locale = _chosen_locale()
    return str(locale or get_locale() or DEFAULT_LANGUAGE)


def _chosen_locale():
    """flask_babel's namespace on g and the locale it has chosen (or force_locale set), read without its
    proxies: (None, None) outside an app context, (namespace, None) before it has chosen one.

    flask_babel resolves g, the locale and the domain through Werkzeug proxies on every call; a page asks
    for its language with every URL it builds and for its catalogue with every string.
    """
    app_ctx = _cv_app.get(None)
    namespace = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    return namespace, getattr(namespace, "babel_locale", None)


def switch_language_url(code: str) -> str:
    """The same page in another language; the home page when there is no page."""
    endpoint = request.endpoint
    view_args = dict(request.view_args or {})
    if endpoint and request.url_rule and "lang_code" in request.url_rule.arguments:
        view_args["lang_code"] = code
        return url_for(endpoint, **view_args, **request.args.to_dict(flat=True))
    return url_for("home.index", lang_code=code)


def money(amount: Decimal | float | int) -> str:
    """An amount of tenge written the way the current language writes money."""
    language = current_language()
    if language in _MONEY_LOCALES:
        return format_currency(amount, "KZT", locale=_MONEY_LOCALES[language])
    return "₸" + format_decimal(amount, format="#,##0.00")


# CLDR's Russian long date ends in "г." (год): at the end of a sentence its
# stop doubled the full stop ("… до 5 декабря 2026 г.."). Russian writes the
# date as well without it, so every long date is written that way.
_LONG_DATE = {"ru": "d MMMM y"}


def long_date(value: dt.date | None) -> str:
    """A date written out in the current language, e.g. 23 November 2026 (the one way the portal writes one).

    A moment is first taken to Kazakhstan's day, as flask_babel's format_date does."""
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        # Kazakhstan's day, as flask_babel's to_user_timezone gives it (naive means UTC), without its
        # proxies: a History page writes two dates a row.
        value = (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(zone()).date()
    return _long_date(current_language(), value)


@lru_cache(maxsize=4096)
def _long_date(language: str, day: dt.date) -> str:
    # CLDR formatting is most of a date's cost, and a list shows the same few days again and again.
    return babel_format_date(day, format=_LONG_DATE.get(language, "long"), locale=language)


def page_translations():
    """The catalogue of the language being rendered, looked up once per request and locale.

    Through flask_babel's get_translations on every string it was a third of a long list's render
    time. The catalogue is kept beside the locale on flask_babel's namespace (_chosen_locale): a forced
    locale is another object, so it is looked up again.
    """
    namespace, locale = _chosen_locale()
    if locale is None:
        return get_translations()  # the locale not chosen yet: flask_babel chooses it (and sets babel_locale)
    cached = getattr(namespace, "qyzmet_translations", None)
    if cached is not None and cached[0] is locale:
        return cached[1]
    translations = get_translations()
    namespace.qyzmet_translations = (locale, translations)
    return translations


def gettext(text: str, **variables) -> str:
    """flask_babel's gettext through page_translations."""
    translated = page_translations().ugettext(text)
    return translated % variables if variables else translated


def date_and_time(value: dt.datetime | None) -> str:
    """A moment in Kazakhstan's time: the long date and the time, e.g. 23 ноября 2026, 16:45.

    Not CLDR's short form ("11/23/26, 4:45 PM" in English): its order and two-digit year
    differ by language, and it sat beside long dates on the same page.
    """
    return f"{long_date(value)}, {format_time(value, 'short')}" if value else ""


def translate_text(text: str | None) -> str:
    """A data text (a passport's, a definition's) in the page's language: the `t` filter.

    Unlike `_` it never %-formats. gettext("") answers the catalogue's header
    ("Project-Id-Version: …"), never words for people, so an empty text is a
    fault in the data or the template: refused when testing or debugging,
    logged and shown as nothing otherwise.
    """
    if text is None or not str(text).strip():
        if current_app.testing or current_app.debug:
            raise ValueError(f"an empty text ({text!r}) through gettext would show the catalogue's header")
        log.error("An empty text went through the t filter on %s", request.path if has_request_context() else "?")
        return ""
    return gettext(text)


def init_app(app: Flask) -> None:
    """Pull the language out of URLs and put it back into generated ones (its template
    filters and globals: webapp/templating.py); templates translate through page_translations."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )

    @app.url_value_preprocessor
    def pull_language(endpoint, values):
        if values and "lang_code" in values:
            code = values.pop("lang_code")
            if code not in LANGUAGES:
                abort(404)
            g.lang_code = code

    # Whether an endpoint's URL has a language, asked for every URL a page builds; the map is fixed once
    # the app serves.
    expects_language: dict[str, bool] = {}

    @app.url_defaults
    def add_language(endpoint, values):
        if "lang_code" in values:
            return
        expected = expects_language.get(endpoint)
        if expected is None:
            expected = expects_language[endpoint] = current_app.url_map.is_endpoint_expecting(endpoint, "lang_code")
        if expected:
            values["lang_code"] = g.get("lang_code") or select_locale()



# Names of the languages in the language of the page, for screen readers.
LANGUAGE_LABELS = {"kk": _l("Kazakh"), "ru": _l("Russian"), "en": _l("English")}

"""Field types a service definition can use: how each is read, checked and stored.

Every check happens on the server. Input is normalised first (spaces,
hyphens, case) so that what a person naturally types is accepted.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Callable, Mapping

import phonenumbers
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from webapp import text_input
from webapp.i18n import long_date
from webapp.identifiers import is_valid_iin, normalise_digits
from webapp.services import uploads

# The National Bank keeps no accounts for people: payments go to Kazpost or a
# second-tier bank.
NOT_FOR_PEOPLE_BANK_CODES = {"125"}
YES_NO = (("yes", _l("Yes")), ("no", _l("No")))

MESSAGES = {
    "required": _l("%(field)s: answer this question to continue"),
    "choose": _l("%(field)s: choose one of the options"),
    "too_long": _l("%(field)s: use %(max)s characters or fewer"),
    "number": _l("%(field)s: enter a whole number, like 3"),
    "number_range": _l("%(field)s: enter a number from %(min)s to %(max)s"),
    "money": _l("%(field)s: enter an amount in tenge, like 25000 or 25000.50"),
    "money_range": _l("%(field)s: enter an amount from %(min)s to %(max)s tenge"),
    "date_missing": _l("%(field)s: enter the day, month and year"),
    "date_real": _l("%(field)s: enter a real date, like 27 3 2024"),
    "date_future": _l("%(field)s: the date must be today or in the past"),
    "date_before": _l("%(field)s: the date must be on or after %(date)s"),
    "date_after": _l("%(field)s: the date must be on or before %(date)s"),
    "date_not_after": _l("%(field)s: the date must be later than %(other)s"),
    "iin_digits": _l("%(field)s: an IIN is 12 digits, like 900517401370"),
    "iin_invalid": _l("%(field)s: this is not a valid IIN; check the number on the identity card"),
    "iban_format": _l("%(field)s: an IBAN is 20 characters starting with KZ, like KZ86 125K ZT50 0410 0100"),
    "iban_invalid": _l("%(field)s: this IBAN is not valid; check the number your bank gave you"),
    "iban_bank": _l("%(field)s: we do not know the bank of this IBAN; use an account at Kazpost or a second-tier bank"),
    "iban_not_yours": _l("%(field)s: this account is not in your name; the payment can only go to an account opened in your name"),
    "iban_unknown": _l("%(field)s: the banks have no account with this IBAN; check the number"),
    "phone": _l("%(field)s: enter a Kazakh mobile number, like +7 701 123 45 67 or 8 701 123 45 67"),
    "file_missing": _l("%(field)s: choose a file to upload"),
    "file_type": _l("%(field)s: the file must be a PDF, JPG or PNG"),
    "file_name": _l("%(field)s: “%(file)s” is a %(kind)s file, but its name ends in .%(extension)s. Rename it to end in .%(expected)s, or choose another file"),
    "file_damaged": _l("%(field)s: “%(file)s” cannot be opened as a %(kind)s file: it is damaged, or only its first bytes are those of one. Choose another file"),
    "file_no_pages": _l("%(field)s: “%(file)s” is a PDF without any pages. Choose the file with your document"),
    "file_password": _l("%(field)s: “%(file)s” is protected by a password, so the provider could not open it. Choose a copy without a password"),
    "file_pixels": _l("%(field)s: “%(file)s” is an image of more than %(megapixels)s megapixels. Choose a smaller photo or scan"),
    "file_size": _l("%(field)s: the file must be smaller than %(size)s MB"),
    "file_empty": _l("%(field)s: the file is empty"),
    "file_count": _l("%(field)s: you can upload up to %(count)s files"),
    "group_min": _l("%(field)s: add at least %(count)s"),
    "characters": text_input.MESSAGE,
}


class FieldError(Exception):
    """What is wrong with an answer, in words for the citizen."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params

    def message(self, title: str, custom: dict[str, str]) -> str:
        """The message a definition gives for this error, or the type's own."""
        template = gettext(custom[self.code]) if self.code in custom else str(MESSAGES[self.code])
        return template % {"field": title, **self.params}


@dataclass(frozen=True)
class Upload:
    """A file as the citizen sent it, checked but not yet stored."""

    original_name: str
    content: bytes
    content_type: str = ""


@dataclass(frozen=True)
class FileAnswer:
    """Files already attached (by public id) plus new ones sent with this page."""

    kept: tuple[str, ...] = ()
    new: tuple[Upload, ...] = ()


class GroupErrors(Exception):
    """Errors in the items of a repeatable group, by the id of the input in error."""

    def __init__(self, errors: list[tuple[str, str]]):
        super().__init__("group")
        self.errors = errors


def check_upload(upload: Upload) -> Upload:
    """The upload with the type its content really is, checked as that type (webapp.services.uploads); FieldError otherwise."""
    try:
        content_type, name = uploads.inspect(upload.original_name, upload.content)
    except uploads.NotAccepted as refused:
        raise FieldError(refused.code, **refused.params) from None
    return Upload(name, upload.content, content_type)


@dataclass
class Context:
    """What checks need beyond the typed text: who applies, on which day, and the other answers.

    `answers`: the answers a date range may refer to (the same group item,
    the same step, the steps before), ISO strings for dates; `fact`: the
    applicant's registry facts by name.
    """

    iin: str
    today: dt.date
    bank_account_holder: Callable[[str], str | None]
    options: Callable[[str], list[tuple[str, str]]]
    fact: Callable[[str], Any] | None = None
    answers: Mapping[str, Any] = field(default_factory=dict)

    def with_answers(self, answers: Mapping[str, Any]) -> "Context":
        """The same context seeing these answers too."""
        return replace(self, answers={**self.answers, **answers})


# A bound of a date's range: a day, today, another date answer (`field:<id>`)
# or a registry fact (`fact:<name>`), each optionally moved by days (`today-365`).
_BOUND = re.compile(
    r"(?:(?P<date>\d{4}-\d{2}-\d{2})|(?P<today>today)|field:(?P<field>[a-z][a-z0-9_]*)|fact:(?P<fact>[a-z][a-z0-9_]*))"
    r"(?:(?P<sign>[+-])(?P<days>\d{1,5}))?"
)


def bound_reference(expression: str) -> tuple[str, str]:
    """What a bound refers to: ("date" | "today" | "field" | "fact", the name); ValueError when malformed."""
    found = _BOUND.fullmatch(str(expression))
    if not found:
        raise ValueError(f"{expression!r} is not a date bound (YYYY-MM-DD, today, field:<id> or fact:<name>, +/- days)")
    if found["date"]:
        dt.date.fromisoformat(found["date"])
        return "date", found["date"]
    if found["today"]:
        return "today", "today"
    return ("field", found["field"]) if found["field"] else ("fact", found["fact"])


def bound_date(expression: str, context: Context) -> dt.date | None:
    """The day a bound stands for; None when it refers to an answer not given (or not a date) yet."""
    found = _BOUND.fullmatch(str(expression))
    if found["date"]:
        base = dt.date.fromisoformat(found["date"])
    elif found["today"]:
        base = context.today
    elif found["field"]:
        base = _as_day(context.answers.get(found["field"]))
    else:
        base = _as_day(context.fact(found["fact"])) if context.fact else None
    if base is None:
        return None
    days = int(found["days"] or 0) * (-1 if found["sign"] == "-" else 1)
    return base + dt.timedelta(days=days)


def _as_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def normalise_text(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def normalise_paragraphs(value: str) -> str:
    """A multi-line answer: each line as normalise_text makes it, at most one empty line between paragraphs."""
    lines = [normalise_text(line) for line in (value or "").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def normalise_iban(value: str) -> str:
    return re.sub(r"[\s\-]", "", value or "").upper()


def parse_date(parts: dict[str, str]) -> dt.date:
    day, month, year = (normalise_digits(parts.get(k, "")) for k in ("day", "month", "year"))
    if not (day and month and year):
        raise FieldError("date_missing")
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        raise FieldError("date_real")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        raise FieldError("date_real") from None


def check_iin(value: str, today: dt.date | None = None) -> str:
    iin = normalise_digits(value)
    if not (iin.isdigit() and len(iin) == 12):
        raise FieldError("iin_digits")
    if not is_valid_iin(iin, today):
        raise FieldError("iin_invalid")
    return iin


def check_iban(value: str, context: Context | None = None) -> str:
    text = normalise_iban(value)
    if not (text.startswith("KZ") and len(text) == 20):
        raise FieldError("iban_format")
    try:
        iban = IBAN(text)
    except SchwiftyException:
        raise FieldError("iban_invalid") from None
    if iban.bank is None or iban.bank_code in NOT_FOR_PEOPLE_BANK_CODES:
        raise FieldError("iban_bank")
    if context is not None:
        holder = context.bank_account_holder(text)
        if holder is None:
            raise FieldError("iban_unknown")
        if holder != context.iin:
            raise FieldError("iban_not_yours")
    return text


def check_phone(value: str) -> str:
    if not text_input.writable(value):
        raise FieldError("characters")
    try:
        number = phonenumbers.parse(value or "", "KZ")
    except phonenumbers.NumberParseException:
        raise FieldError("phone") from None
    if (
        not phonenumbers.is_valid_number_for_region(number, "KZ")
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise FieldError("phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_money(value: str) -> Decimal:
    """Tenge as people write them: spaces between thousands, a comma or a point, a ₸ sign."""
    text = re.sub(r"[\s\u00a0\u202f₸]|(?i:kzt|тг|тенге)", "", value or "").replace(",", ".")
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", text):
        raise FieldError("money")
    return Decimal(text)


@dataclass
class Field:
    """One question's answer: its type, label and checks, from the definition."""

    id: str
    type: str
    label: str
    title: str = ""  # a short name for error messages and check-your-answers
    hint: str = ""
    optional: bool = False
    options: tuple[tuple[str, str], ...] = ()
    options_from: str = ""
    other_option: str = ""  # label of an extra "none of these" option, value "other"
    max_length: int = 200
    multiline: bool = False  # a text answered in a paragraph or more: a textarea with a character count
    min: Any = None
    max: Any = None
    not_future: bool = False
    not_before: str = ""  # a bound (see _BOUND): the earliest day allowed
    not_after: str = ""  # the latest day allowed
    after: str = ""  # the id of a date answer this one must be later than (an end after its start)
    compared_with: dict[str, str] = field(default_factory=dict)  # titles of the dates named above, by id
    max_files: int = 3
    max_size_mb: int = 5
    min_items: int = 1
    max_items: int = 10
    item_label: str = ""  # what one item of a group is called, e.g. "Period"
    fields: tuple["Field", ...] = ()  # the parts of a repeatable group
    xml: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    autocomplete: str = ""
    width: str = ""

    @property
    def blank_error(self) -> FieldError:
        """What to say when the field is left blank, in its type's words."""
        return FieldError(BLANK_ERRORS.get(self.type, "required"))

    @property
    def error_title(self) -> str:
        return gettext(self.title or self.label)

    @property
    def xml_name(self) -> str:
        return self.xml or self.id

    def choices(self, context: Context) -> list[tuple[str, str]]:
        """The options a choice offers, from the definition or a registry fact."""
        if self.type == "yesno":
            return [(value, str(label)) for value, label in YES_NO]
        found = list(context.options(self.options_from)) if self.options_from else [
            (value, gettext(label)) for value, label in self.options
        ]
        if self.other_option:
            found.append(("other", gettext(self.other_option)))
        return found

    # Reading what the form sent. Input names follow the form macros:
    # a date is "<id>-day/-month/-year", a group item's part "<group>-<n>-<part>".

    def read(self, form, files, prefix: str = "") -> Any:
        """The raw answer the form sent for this field."""
        name = prefix + self.id
        if self.type == "date":
            return {part: text_input.neutralise(form.get(f"{name}-{part}")) for part in ("day", "month", "year")}
        if self.type == "file":
            new = tuple(
                Upload(sanitise_filename(f.filename or ""), f.read())
                for f in files.getlist(name)
                if f and f.filename
            )
            return FileAnswer(kept=tuple(form.getlist(f"{name}-kept")), new=new)
        if self.type == "group":
            count = _bounded_int(form.get(f"{name}-count"), 0, self.max_items)
            return [
                {part.id: part.read(form, files, f"{name}-{n}-") for part in self.fields}
                for n in range(count)
            ]
        return text_input.neutralise(form.get(name))

    def is_blank(self, raw: Any) -> bool:
        if self.type == "date":
            return not any((raw or {}).get(k, "").strip() for k in ("day", "month", "year"))
        if self.type == "file":
            return raw is None or not (raw.kept or raw.new)
        if self.type == "group":
            return not raw
        return not (raw or "").strip()

    def check(self, raw: Any, context: Context) -> Any:
        """The normalised answer, or FieldError; raw is what the form sent."""
        # Every type refuses what XML cannot carry (a group, part by part).
        if self.type != "group" and not text_input.writable(raw):
            raise FieldError("characters")
        checker = getattr(self, f"_check_{self.type}")
        return checker(raw, context)

    def _check_text(self, raw, context):
        text = normalise_paragraphs(raw) if self.multiline else normalise_text(raw)
        if len(text) > self.max_length:
            raise FieldError("too_long", max=self.max_length)
        return text

    def _check_number(self, raw, context):
        text = re.sub(r"[\s\u00a0\u202f]", "", raw or "")
        if not re.fullmatch(r"\d{1,9}", text):
            raise FieldError("number")
        number = int(text)
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise FieldError("number_range", min=self.min, max=self.max)
        return number

    def _check_money(self, raw, context):
        amount = check_money(raw)
        if (self.min is not None and amount < Decimal(str(self.min))) or (
            self.max is not None and amount > Decimal(str(self.max))
        ):
            raise FieldError("money_range", min=self.min or 0, max=self.max)
        return str(amount.quantize(Decimal("0.01")))

    def _check_date(self, raw, context):
        value = parse_date(raw or {})
        if self.not_future and value > context.today:
            raise FieldError("date_future")
        earliest = bound_date(self.not_before, context) if self.not_before else None
        if earliest and value < earliest:
            raise FieldError("date_before", date=long_date(earliest))
        latest = bound_date(self.not_after, context) if self.not_after else None
        if latest and value > latest:
            raise FieldError("date_after", date=long_date(latest))
        start = _as_day(context.answers.get(self.after)) if self.after else None
        if start and value <= start:
            raise FieldError("date_not_after", other=self.sibling_title(self.after), date=long_date(start))
        return value.isoformat()

    def sibling_title(self, field_id: str) -> str:
        """The short name of the date this one is compared with (set when the definition loads)."""
        return gettext(self.compared_with.get(field_id, field_id))

    def _check_iin(self, raw, context):
        return check_iin(raw, context.today)

    def _check_iban(self, raw, context):
        return check_iban(raw, context)

    def _check_phone(self, raw, context):
        return check_phone(raw)

    def _check_choice(self, raw, context):
        value = (raw or "").strip()
        if value not in {v for v, _ in self.choices(context)}:
            raise FieldError("choose")
        return value

    _check_yesno = _check_choice

    def _check_file(self, raw: FileAnswer, context):
        if len(raw.kept) + len(raw.new) > self.max_files:
            raise FieldError("file_count", count=self.max_files)
        checked = []
        for upload in raw.new:
            if not upload.content:
                raise FieldError("file_empty")
            if len(upload.content) > self.max_size_mb * 1024 * 1024:
                raise FieldError("file_size", size=self.max_size_mb)
            checked.append(check_upload(upload))
        return FileAnswer(kept=raw.kept, new=tuple(checked))

    def _check_group(self, raw: list[dict], context):
        if len(raw) < self.min_items:
            raise FieldError("group_min", count=self.min_items)
        items, errors = [], []
        for n, item in enumerate(raw):
            answers = {}
            for part in self.fields:
                # A part's range may refer to the parts before it in the same item.
                part_context = context.with_answers(answers)
                anchor = f"{self.id}-{n}-{part.id}"
                label = gettext("%(item)s %(number)s: %(field)s", item=gettext(self.item_label or self.label),
                                number=n + 1, field=part.error_title)
                if part.is_blank(item.get(part.id)):
                    if not part.optional:
                        errors.append((anchor, part.blank_error.message(label, part.errors)))
                    continue
                try:
                    answers[part.id] = part.check(item.get(part.id), part_context)
                except FieldError as error:
                    errors.append((anchor, error.message(label, part.errors)))
            items.append(answers)
        if errors:
            raise GroupErrors(errors)
        return items


def _bounded_int(text: str | None, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(text or 0)))
    except ValueError:
        return low


def sanitise_filename(name: str) -> str:
    """A file's name as metadata only: no path, no control characters, bounded length."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '<>:"|?*')
    return name.strip(" .")[:120] or "file"


# Left blank, a choice asks to choose, a file to upload, a date for all its parts.
BLANK_ERRORS = {"choice": "choose", "yesno": "choose", "file": "file_missing", "date": "date_missing"}
FIELD_TYPES = {"text", "number", "money", "date", "iin", "iban", "phone", "choice", "yesno", "file", "group"}
GROUP_PART_TYPES = FIELD_TYPES - {"file", "group"}

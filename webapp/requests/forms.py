"""The request forms: what each kind asks (text, files, the addressee, the service) and its checks.

Bad input is shown again with a clear message and nothing the citizen typed
lost; files are judged by their content (webapp/services/uploads.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from flask_babel import gettext as _

from webapp import text_input
from webapp.auth import current_citizen
from webapp.extensions import db
from webapp.models import Application, Attachment
from webapp.services import find, uploads
from webapp.services.fields import MESSAGES as FIELD_MESSAGES
from webapp.services.fields import Field, FieldError, FileAnswer, Upload, check_upload
from webapp.requests.kinds import COMPLAINT_ADDRESSEES, MAX_FILES, MAX_FILE_MB, SCREENSHOT_TYPES, TEXT_MAX_LENGTH


@dataclass
class Form:
    """What one request form asks, and what the citizen typed."""

    kind: str
    application: Application | None
    values: dict
    kept: list[Attachment]
    errors: list[tuple[str, str]]

    @property
    def error_for(self) -> dict[str, str]:
        return dict(self.errors)


def files_field(kind: str) -> Field:
    label = _("Screenshots") if kind == "malfunction" else _("Files")
    return Field(id="files", type="file", label=label, max_files=MAX_FILES, max_size_mb=MAX_FILE_MB)


def read_text(name: str) -> str:
    return text_input.neutralise(request.form.get(name)).replace("\r\n", "\n").replace("\r", "\n").strip()


def refuse_unwritable(form: Form, name: str, title: str) -> None:
    """Text XML cannot carry is refused, and shown again without those characters."""
    if not text_input.writable(form.values.get(name)):
        form.errors.append((name, text_input.message(title)))
        form.values[name] = text_input.without_unwritable(form.values[name])


def check_form(form: Form, raw_files: FileAnswer) -> list[Upload]:
    """Fill form.errors; the checked new uploads."""
    kind, values = form.kind, form.values
    errors = form.errors
    text_title = _("Description of the steps") if kind == "malfunction" else _("Text")
    refuse_unwritable(form, "text", text_title)
    if kind == "malfunction":
        refuse_unwritable(form, "registration_number", _("Registration number of the application"))
        if not find(values.get("service", "")):
            errors.append(("service", _("Choose the service in which the problem happened")))
        wanted = values.get("registration_number", "").strip()
        if wanted:
            own = db.session.scalar(db.select(Application).filter_by(number=wanted, iin=current_citizen().iin))
            if own is None:
                errors.append(("registration_number", _("We have no application of yours with this number. Check the number in History of Services, or leave it empty.")))
    if kind == "complaint" and values.get("addressee") not in COMPLAINT_ADDRESSEES:
        errors.append(("addressee", _("Choose who should consider your complaint")))
    blank = {
        "objection": _("Write your objection to the provisional refusal"),
        "complaint": _("Write what your complaint is about"),
        "malfunction": _("Describe the steps that led to the problem"),
    }
    text = values.get("text", "")
    if not text and kind in blank:
        errors.append(("text", blank[kind]))
    elif len(text) > TEXT_MAX_LENGTH:
        errors.append(("text", str(FIELD_MESSAGES["too_long"]) % {"field": text_title, "max": TEXT_MAX_LENGTH}))
    checked: list[Upload] = []
    if kind == "documents" and not (raw_files.kept or raw_files.new):
        errors.append(("files", _("Choose the documents to upload: a PDF, JPG or PNG file each")))
    else:
        checked, problem = check_files(kind, raw_files)
        if problem:
            errors.append(("files", problem))
    if errors:
        if raw_files.new and not any(target == "files" for target, _text in errors):
            errors.append(("files", _("Your files were not attached because of the problems above. Choose them again.")))
        return []
    return checked


def check_files(kind: str, raw: FileAnswer) -> tuple[list[Upload], str | None]:
    """The new files with their real types, or what is wrong, naming the file.

    Files are judged by their content, opened as what their first bytes say, and must be named
    as that (webapp.services.uploads); screenshots must be images.
    """
    field = files_field(kind)
    if len(raw.kept) + len(raw.new) > MAX_FILES:
        return [], str(FIELD_MESSAGES["file_count"]) % {"field": field.label, "count": MAX_FILES}
    checked = []
    for upload in raw.new:
        name = upload.original_name
        if not upload.content:
            return [], _("“%(file)s” is empty. Choose another file.", file=name)
        if len(upload.content) > MAX_FILE_MB * 1024 * 1024:
            return [], _("“%(file)s” is larger than %(size)s MB. Choose a smaller file.", file=name, size=MAX_FILE_MB)
        content_type = uploads.sniff(upload.content)
        if kind == "malfunction" and content_type not in SCREENSHOT_TYPES:
            return [], _("“%(file)s” is not a PNG or JPG image. A screenshot must be a PNG or JPG image.", file=name)
        if content_type is None:
            return [], _("“%(file)s” is not a PDF, JPG or PNG file. Choose a PDF, JPG or PNG file.", file=name)
        try:
            checked.append(check_upload(upload))
        except FieldError as refused:
            return [], refused.message(field.label, {})
    return checked, None

"""The login form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, ValidationError

from webapp.forms import PortalForm
from webapp.clock import today
from webapp.identifiers import is_valid_iin, normalise_digits


def valid_iin(form, field):
    """Twelve digits with the right check digit."""
    if not field.data.isdigit() or len(field.data) != 12:
        raise ValidationError(_l("IIN must be 12 digits, like 900517401231"))
    if not is_valid_iin(field.data, today()):
        raise ValidationError(_l("Enter a real IIN: check the number on your identity card"))


class LoginForm(PortalForm):
    iin = StringField(
        _l("IIN (individual identification number)"),
        filters=[normalise_digits],
        validators=[DataRequired(_l("Enter your IIN")), valid_iin],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password"))])

"""Form base classes shared by every feature."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms.validators import StopValidation

from webapp import text_input


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


def neutralise(value):
    return text_input.neutralise(value) if isinstance(value, str) else value


def writable(form, field):
    """Text XML cannot carry is refused, and shown again without those characters."""
    if not text_input.writable(field.data):
        field.data = text_input.without_unwritable(field.data)
        raise StopValidation(text_input.message(field.label.text))


class PortalForm(FlaskForm):
    """Strips surrounding white space and bidirectional controls from every field a citizen
    types in, and refuses characters XML cannot carry (webapp.text_input)."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            validators = unbound_field.kwargs.get("validators", ())
            bound = unbound_field.bind(
                form=form, filters=(neutralise, strip_whitespace, *filters), validators=(writable, *validators), **options
            )
            return bound

    def error_list(self) -> list[dict]:
        """The error summary's entries: each message linked to its field."""
        return [
            {"text": messages[0], "href": f"#{self[name].id}"}
            for name, messages in self.errors.items()
            if messages and name in self._fields
        ]

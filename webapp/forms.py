"""Form base classes shared by every feature."""

from __future__ import annotations

from flask_wtf import FlaskForm


def strip_whitespace(value):
    return value.strip() if isinstance(value, str) else value


class PortalForm(FlaskForm):
    """Strips surrounding white space from every field a citizen types in."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            filters = unbound_field.kwargs.get("filters", ())
            bound = unbound_field.bind(form=form, filters=(strip_whitespace, *filters), **options)
            return bound

    def error_list(self) -> list[dict]:
        """The error summary's entries: each message linked to its field."""
        return [
            {"text": messages[0], "href": f"#{self[name].id}"}
            for name, messages in self.errors.items()
            if messages and name in self._fields
        ]

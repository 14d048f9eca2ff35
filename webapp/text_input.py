"""Text a citizen types, as every form reads it: what XML can carry, in the order it was typed.

Answers end up in signed XML documents. XML 1.0 cannot carry most C0
control characters (NUL, ESC, vertical tab...), U+FFFE, U+FFFF or lone
surrogates, whatever the escaping; a pasted one would make the document
impossible to build. Such text is refused with a field error (the message
below), and what is shown again has them taken out, so the page stays valid
HTML and the citizen only has to continue.

Explicit bidirectional embeddings, overrides and isolates (U+202A-U+202E,
U+2066-U+2069) can make text read differently from what it is ("Trojan
Source"); no answer in Kazakh, Russian or English needs them, and copied
phone numbers often carry them, so they are dropped silently (neutralised),
not refused.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l

NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

MESSAGE = _l(
    "%(field)s: the answer had invisible control characters, which copied text can carry and a signed "
    "document cannot. We have taken them out: check the answer and continue"
)


def neutralise(value: str | None) -> str:
    """The text as typed, without bidirectional embeddings, overrides and isolates."""
    return BIDI_CONTROLS.sub("", value or "")


def writable(value: Any) -> bool:
    """Whether a value (text, or a list or dict of them, as stored answers are) fits in XML."""
    if isinstance(value, str):
        return NOT_XML.search(value) is None
    if isinstance(value, dict):
        return all(writable(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(writable(v) for v in value)
    return True


def without_unwritable(value: Any) -> Any:
    """The value with the characters XML cannot carry taken out (for showing it again)."""
    if isinstance(value, str):
        return NOT_XML.sub("", value)
    if isinstance(value, dict):
        return {k: without_unwritable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_unwritable(v) for v in value]
    return value


def message(field: str) -> str:
    """The field error for text that XML cannot carry."""
    return str(MESSAGE) % {"field": field}

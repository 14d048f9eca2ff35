"""An uploaded file is what its bytes say, opens as that, and is named as that.

Three checks, cheapest first:

1. the first bytes (filetype) say PDF, JPEG or PNG;
2. the file really is one: pypdf reads the PDF's structure (cross-reference
   table, trailer, page tree: at least one page, no password needed to open
   it), Pillow decodes the image (a JPEG at an eighth of its size, which still
   reads every coded block); a PDF header followed by HTML, or an image header
   followed by script, opens as neither;
3. the name's extension is the content's (.pdf, .jpg/.jpeg, .png), so a file
   never reaches the provider under a name that says something else; a name
   without an extension gets the content's.

The checks raise NotAccepted with a code of webapp.services.fields.MESSAGES.
"""

from __future__ import annotations

import io
import warnings

import filetype
from PIL import Image
from pypdf import PdfReader

# MIME type: (what the citizen calls it, the extensions it may have, Pillow's format name).
KINDS = {
    "application/pdf": ("PDF", ("pdf",), None),
    "image/jpeg": ("JPG", ("jpg", "jpeg"), "JPEG"),
    "image/png": ("PNG", ("png",), "PNG"),
}
# A phone's photo is 12 to 50 megapixels; a PNG is decoded in full (4 bytes a pixel).
MAX_MEGAPIXELS = 50


class NotAccepted(Exception):
    """Why a file is refused: a code of fields.MESSAGES and its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def sniff(content: bytes, accepted=KINDS) -> str | None:
    """The accepted MIME type the first bytes say, or None."""
    kind = filetype.guess(content[:8192]) if content else None
    return kind.mime if kind and kind.mime in accepted else None


def inspect(name: str, content: bytes, accepted=KINDS) -> tuple[str, str]:
    """(content type, name to keep) for a file that is what it claims; NotAccepted otherwise."""
    content_type = sniff(content, accepted)
    if content_type is None:
        raise NotAccepted("file_type", file=name)
    label, extensions, image_format = KINDS[content_type]
    if image_format is None:
        _open_pdf(name, content)
    else:
        _decode_image(name, content, image_format, label)
    extension = _extension(name)
    if extension is None:
        return content_type, f"{name}.{extensions[0]}"
    if extension not in extensions:
        raise NotAccepted("file_name", file=name, kind=label, extension=extension, expected=extensions[0])
    return content_type, name


def _extension(name: str) -> str | None:
    """The extension a person would read as the file's type ("scan v1.2" has none)."""
    stem, dot, extension = name.rpartition(".")
    if not (stem and dot) or not (1 <= len(extension) <= 5 and extension.isalnum()) or extension.isdigit():
        return None
    return extension.lower()


def _open_pdf(name: str, content: bytes) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about what it repairs
            reader = PdfReader(io.BytesIO(content), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise NotAccepted("file_password", file=name)
            pages = len(reader.pages)
    except NotAccepted:
        raise
    except Exception:  # noqa: BLE001  (pypdf raises many kinds of error on a broken or hostile file)
        raise NotAccepted("file_damaged", file=name, kind="PDF") from None
    if pages == 0:
        raise NotAccepted("file_no_pages", file=name)


def _decode_image(name: str, content: bytes, image_format: str, label: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=[image_format]) as image:
                width, height = image.size
                if width * height > MAX_MEGAPIXELS * 1_000_000:
                    raise NotAccepted("file_pixels", file=name, megapixels=MAX_MEGAPIXELS)
                image.verify()  # chunk checksums, up to the end marker
            with Image.open(io.BytesIO(content), formats=[image_format]) as image:
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                image.load()
    except NotAccepted:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise NotAccepted("file_pixels", file=name, megapixels=MAX_MEGAPIXELS) from None
    except Exception:  # noqa: BLE001  (Pillow raises many kinds of error on a broken or hostile file)
        raise NotAccepted("file_damaged", file=name, kind=label) from None

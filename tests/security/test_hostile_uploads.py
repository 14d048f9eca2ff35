"""Hostile uploads: files that are HTML or script under a harmless name are
refused with a translated message; a file whose first bytes are a PDF's or an
image's but which does not open as one (a PDF header followed by HTML) is
refused as damaged; a file named as another type than it is (PNG bytes as
.pdf, PDF bytes as .png) is refused; polyglots that really are an image (markup
after its end) are stored under a random name outside static/ and never served
back (no route serves an attachment); names with paths or markup are metadata
only and shown escaped; an oversize form is the translated 413 page with the
draft kept."""

from __future__ import annotations

import os
import re
import struct
import zlib
from io import BytesIO
from pathlib import Path

import pytest

from tests.conftest import csrf_token, log_in
from tests.journeys import FILES
from tests.helpers import MATERNITY, at_check
from webapp.extensions import db
from webapp.models import ApplicationDraft, Attachment

MALFUNCTION = "/en/account/requests/malfunction"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
PNG = (FILES / "scan.png").read_bytes()
PDF = (FILES / "certificate.pdf").read_bytes()
JPG = (FILES / "photo.jpg").read_bytes()
# Files whose first bytes are a real PDF / JPEG / PNG signature, followed by markup.
POLYGLOTS = {
    "pdf": b"%PDF-1.4\n" + HTML + b"\n%%EOF\n",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + HTML,
    "png": PNG[:64] + HTML,
}
# Real images with markup after their end: still images (a viewer ignores the rest).
TRAILING = {"jpg": JPG + HTML, "png": PNG + HTML}
# (A browser sends a double quote in a file name as %22; the test client would cut the name there.)
MARKUP_NAME = "'><img src=x onerror=alert(1)>{{7*7}}.png"


def attachments_on_disk(app) -> set[Path]:
    folder = Path(app.config["ATTACHMENTS_DIR"])
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def post_malfunction(client, files, text="Screenshots attached."):
    data = {"csrf_token": csrf_token(client, MALFUNCTION), "action": "continue", "service": "child-care-under-one",
            "text": text, "files": [(BytesIO(content), name) for name, content in files]}
    return client.post(MALFUNCTION, data=data, content_type="multipart/form-data")


def test_no_route_serves_an_attachment(app):
    """The files are never served back, so no upload can become a page of this site."""
    for rule in app.url_map.iter_rules():
        assert "attachment" not in rule.rule and "upload" not in rule.rule, rule.rule
    static = Path(app.static_folder).resolve()
    assert static not in Path(app.config["ATTACHMENTS_DIR"]).resolve().parents


def test_markup_under_an_image_or_pdf_name_is_refused(app, citizen_client):
    before = attachments_on_disk(app)
    for name, content in (("screenshot.png", HTML), ("screenshot.jpg", SVG), ("drawing.svg", SVG),
                          ("page.html", HTML), ("statement.pdf", POLYGLOTS["pdf"])):
        response = post_malfunction(citizen_client, [(name, content)])
        assert response.status_code == 200, name
        assert "is not a PNG or JPG image" in response.text, name
        assert "<script>alert" not in response.text and "onload=" not in response.text
        assert "Screenshots attached." in response.text  # what the citizen typed is kept
    assert attachments_on_disk(app) == before
    # In Kazakh too (the message is translated, the page checked for leftovers by the client).
    response = citizen_client.post("/kk/account/requests/malfunction", data={
        "csrf_token": csrf_token(citizen_client, "/kk/account/requests/malfunction"), "action": "continue",
        "service": "child-care-under-one", "text": "x", "files": [(BytesIO(HTML), "a.png")],
    }, content_type="multipart/form-data")
    assert response.status_code == 200 and "is not a PNG or JPG image" not in response.text


def test_polyglots_are_stored_inert_under_random_names(app, citizen_client):
    outside = Path(app.config["ATTACHMENTS_DIR"]).parent / "x.png"
    before = attachments_on_disk(app)
    response = post_malfunction(citizen_client, [("../../x.png", TRAILING["png"]), (MARKUP_NAME, TRAILING["png"])])
    assert response.status_code == 302, response.text[:3000]
    assert not outside.exists()
    new = attachments_on_disk(app) - before
    assert len(new) == 2
    with app.app_context():
        stored = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()[-2:]
        names = {a.original_name for a in stored}
        for attachment in stored:
            assert re.fullmatch(r"[0-9a-f]{40}", attachment.stored_name)
            assert attachment.content_type == "image/png"  # what the bytes are
    assert "x.png" in names  # the path is gone
    assert not any(c in name for name in names for c in '<>"/\\')
    for path in new:
        assert path.parent.resolve() == Path(app.config["ATTACHMENTS_DIR"]).resolve()
        assert os.path.basename(path) not in names
    # The check page shows the names as text.
    page = citizen_client.get(response.location)
    assert page.status_code == 200
    assert "<img src=x" not in page.text
    # The name lost its <, > and * (sanitise_filename) and was shown, not evaluated as a template.
    assert "{{77}}.png" in page.text and "49.png" not in page.text
    # The XML to sign carries the name as text.
    xml = citizen_client.get(f"{response.location}/request.xml")
    assert xml.status_code == 200 and b"<img" not in xml.data and b"<script" not in xml.data


def test_a_polyglot_pdf_in_a_wizard_is_inert(app, client):
    """The maternity wizard's certificate step: a real PDF with HTML after its end."""
    at_check(client, MATERNITY)
    step = f"/en/services/{MATERNITY}/apply/certificate-files"
    page = client.get(step, query_string={"return": "check"})
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(client, f"{step}?return=check"), "action": "continue",
            "certificate_files": [(BytesIO(HTML), "certificate.pdf")]}
    refused = client.post(f"{step}?return=check", data=data, content_type="multipart/form-data")
    assert refused.status_code == 200 and "the file must be a PDF, JPG or PNG" in refused.text
    assert "<script>alert" not in refused.text
    data["certificate_files"] = [(BytesIO(PDF + HTML), '../../<b>cert</b>.pdf')]
    data["csrf_token"] = csrf_token(client, f"{step}?return=check")
    saved = client.post(f"{step}?return=check", data=data, content_type="multipart/form-data")
    assert saved.status_code == 302, saved.text[:3000]
    check = client.get(f"/en/services/{MATERNITY}/apply/check")
    assert check.status_code == 200
    assert "<b>cert</b>" not in check.text and "../" not in check.text
    document = client.get(f"/en/services/{MATERNITY}/apply/application.xml")
    assert b"<b>" not in document.data and b"../" not in document.data


def test_an_oversize_form_is_the_translated_413_page_and_the_draft_is_kept(app, client):
    at_check(client, MATERNITY)
    step = f"/en/services/{MATERNITY}/apply/certificate-files"
    huge = PDF[:1024] + b"0" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    for lang, words in (("en", "The file or form is too large"), ("ru", None)):
        path = f"/{lang}/services/{MATERNITY}/apply/certificate-files?return=check"
        response = client.post(path, data={"csrf_token": csrf_token(client, path), "action": "continue",
                                           "certificate_files": [(BytesIO(huge), "big.pdf")]},
                               content_type="multipart/form-data")
        assert response.status_code == 413
        assert f'lang="{lang}"' in response.text
        if words:
            assert words in response.text
    # The draft and its answers survived.
    assert client.get(f"/en/services/{MATERNITY}/apply/check").status_code == 200
    # A file over the field's own limit but under the request's is the field's message.
    small_enough = PDF[:1024] + b"0" * (6 * 1024 * 1024)
    response = client.post(f"{step}?return=check", data={
        "csrf_token": csrf_token(client, f"{step}?return=check"), "action": "continue",
        "certificate_files": [(BytesIO(small_enough), "big.pdf")]}, content_type="multipart/form-data")
    assert response.status_code == 200 and "smaller than 5 MB" in response.text


def test_many_form_parts_are_refused_cleanly(app, client):
    """A form of thousands of fields (a cheap way to exhaust a parser) is a 413 or an error page, never a 500."""
    assert log_in(client).status_code == 302
    data = {f"f{i}": "x" for i in range(20000)}
    data["csrf_token"] = csrf_token(client, MALFUNCTION)
    response = client.post(MALFUNCTION, data=data, content_type="multipart/form-data")
    assert response.status_code in (200, 400, 413), response.status_code


# Parsed as what they claim, named as what they are.

def _with_size(png: bytes, width: int, height: int) -> bytes:
    """A PNG whose header claims another size (its checksum fixed), as a decompression bomb does."""
    header = b"IHDR" + struct.pack(">II", width, height) + png[24:29]
    return png[:12] + header + struct.pack(">I", zlib.crc32(header)) + png[33:]


def _encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(BytesIO(PDF)))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-128")
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _no_pages_pdf() -> bytes:
    from pypdf import PdfWriter

    out = BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def post_step(client, files, lang="en"):
    step = f"/{lang}/services/{MATERNITY}/apply/certificate-files?return=check"
    data = {"csrf_token": csrf_token(client, step), "action": "continue",
            "certificate_files": [(BytesIO(content), name) for name, content in files]}
    return client.post(step, data=data, content_type="multipart/form-data")


REFUSED = [
    ("a PDF header followed by HTML", "statement.pdf", POLYGLOTS["pdf"],
     "“statement.pdf” cannot be opened as a PDF file"),
    ("a JPEG header followed by HTML", "photo.jpg", POLYGLOTS["jpg"], "“photo.jpg” cannot be opened as a JPG file"),
    ("a PNG cut short and followed by HTML", "scan.png", POLYGLOTS["png"], "“scan.png” cannot be opened as a PNG file"),
    ("a JPEG cut in half", "photo.jpg", JPG[: len(JPG) // 2], "“photo.jpg” cannot be opened as a JPG file"),
    ("PNG bytes named .pdf", "scan.pdf", PNG, "“scan.pdf” is a PNG file, but its name ends in .pdf. Rename it to end in .png"),
    ("PDF bytes named .png", "scan.png", PDF, "“scan.png” is a PDF file, but its name ends in .png. Rename it to end in .pdf"),
    ("JPEG bytes named .png", "photo.PNG", JPG, "“photo.PNG” is a JPG file, but its name ends in .png"),
    ("a PDF that needs a password", "locked.pdf", _encrypted_pdf(), "“locked.pdf” is protected by a password"),
    ("a PDF without pages", "empty.pdf", _no_pages_pdf(), "“empty.pdf” is a PDF without any pages"),
    ("an image of 400 megapixels", "huge.png", _with_size(PNG, 20000, 20000), "“huge.png” is an image of more than 50 megapixels"),
]


@pytest.mark.parametrize("what,name,content,said", REFUSED, ids=[r[0] for r in REFUSED])
def test_a_wizard_refuses_a_file_that_is_not_what_it_claims(app, client, what, name, content, said):
    at_check(client, MATERNITY)
    before = attachments_on_disk(app)
    with app.app_context():
        answers = db.session.scalar(db.select(ApplicationDraft)).answers
    response = post_step(client, [(name, content)])
    assert response.status_code == 200, what
    assert said in response.text, what
    assert attachments_on_disk(app) == before
    with app.app_context():
        assert db.session.scalar(db.select(ApplicationDraft)).answers == answers


def test_a_request_refuses_files_named_as_something_else(app, citizen_client):
    response = post_malfunction(citizen_client, [("screen.png", JPG)])
    assert response.status_code == 200
    assert "“screen.png” is a JPG file, but its name ends in .png" in response.text
    assert "Screenshots attached." in response.text
    path = "/en/account/requests/malfunction"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
    # The same in Russian and Kazakh, translated (the client checks for leftovers).
    for lang in ("ru", "kk"):
        localised = citizen_client.post(path.replace("/en/", f"/{lang}/"), data={
            "csrf_token": csrf_token(citizen_client, path.replace("/en/", f"/{lang}/")), "action": "continue",
            "service": "child-care-under-one", "text": "x", "files": [(BytesIO(PNG + HTML), "screen.jpg")],
        }, content_type="multipart/form-data")
        assert localised.status_code == 200 and "screen.jpg" in localised.text
        assert "but its name ends in" not in localised.text


def test_a_name_without_an_extension_gets_the_contents(app, client):
    at_check(client, MATERNITY)
    assert post_step(client, [("scan", PNG), ("certificate v1.2", PDF)]).status_code == 302
    with app.app_context():
        names = sorted(db.session.scalars(db.select(Attachment.original_name)))
    assert names == ["certificate v1.2.pdf", "scan.png"]


def test_real_files_of_each_kind_are_accepted(app, client):
    at_check(client, MATERNITY)
    response = post_step(client, [("certificate.pdf", PDF), ("photo.jpeg", JPG), ("scan.png", PNG)])
    assert response.status_code == 302, response.text[:3000]
    with app.app_context():
        kinds = sorted(db.session.scalars(db.select(Attachment.content_type)))
    assert kinds == ["application/pdf", "image/jpeg", "image/png"]


def test_the_pages_that_serve_files_send_them_as_downloads_not_to_sniff(app, client):
    """No attachment is served back (test_no_route_serves_an_attachment); the documents that
    are (XML), are downloads, and every response forbids sniffing its type."""
    at_check(client, MATERNITY)
    document = client.get(f"/en/services/{MATERNITY}/apply/application.xml")
    assert document.headers["Content-Disposition"].startswith("attachment;")
    assert document.headers["X-Content-Type-Options"] == "nosniff"

"""Hostile uploads: files that are HTML or script under a harmless name are
refused with a translated message; polyglots that really start as a PDF or
an image are stored under a random name outside static/ and never served
back (no route serves an attachment); names with paths or markup are
metadata only and shown escaped; an oversize form is the translated 413 page
with the draft kept."""

from __future__ import annotations

import os
import re
from io import BytesIO
from pathlib import Path

from tests.conftest import csrf_token, log_in
from tests.journeys import FILES
from tests.test_eds import MATERNITY, at_check
from webapp.extensions import db
from webapp.models import Attachment

MALFUNCTION = "/en/account/requests/malfunction"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
PNG = (FILES / "scan.png").read_bytes()
PDF = (FILES / "certificate.pdf").read_bytes()
# Files whose first bytes are a real PDF / JPEG / PNG signature, followed by markup.
POLYGLOTS = {
    "pdf": b"%PDF-1.4\n" + HTML + b"\n%%EOF\n",
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + HTML,
    "png": PNG[:64] + HTML,
}
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
    response = post_malfunction(citizen_client, [("../../x.png", POLYGLOTS["png"]), (MARKUP_NAME, POLYGLOTS["jpg"])])
    assert response.status_code == 302, response.text[:3000]
    assert not outside.exists()
    new = attachments_on_disk(app) - before
    assert len(new) == 2
    with app.app_context():
        stored = db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()[-2:]
        names = {a.original_name for a in stored}
        for attachment in stored:
            assert re.fullmatch(r"[0-9a-f]{40}", attachment.stored_name)
            assert attachment.content_type in ("image/png", "image/jpeg")  # what the bytes are, not what was claimed
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
    """The maternity wizard's certificate step: a PDF that is also HTML."""
    at_check(client, MATERNITY)
    step = f"/en/services/{MATERNITY}/apply/certificate-files"
    page = client.get(step, query_string={"return": "check"})
    assert page.status_code == 200
    data = {"csrf_token": csrf_token(client, f"{step}?return=check"), "action": "continue",
            "certificate_files": [(BytesIO(HTML), "certificate.pdf")]}
    refused = client.post(f"{step}?return=check", data=data, content_type="multipart/form-data")
    assert refused.status_code == 200 and "the file must be a PDF, JPG or PNG" in refused.text
    assert "<script>alert" not in refused.text
    data["certificate_files"] = [(BytesIO(POLYGLOTS["pdf"]), '../../<b>cert</b>.pdf')]
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

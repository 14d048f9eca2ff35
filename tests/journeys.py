"""Walk a wizard through the Flask client as a citizen would, answering from a journey file.

A journey file (tests/journeys/<slug>.yaml) names a sandbox citizen and the
answers to give, by step id; confirmation steps are answered "yes" unless
the file says otherwise. Dates are ISO strings, files are names under
tests/files/, groups are lists of mappings.
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.conftest import log_in
from webapp.services.fields import Field

JOURNEYS = Path(__file__).parent / "journeys"
FILES = Path(__file__).parent / "files"
# The services with a journey file: every online one (tests/test_journeys.py checks).
SLUGS = sorted(p.stem for p in JOURNEYS.glob("*.yaml"))


def load(slug: str) -> dict:
    return yaml.safe_load((JOURNEYS / f"{slug}.yaml").read_text(encoding="utf-8"))


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_data(field: Field, value, prefix: str = "") -> dict:
    """The form inputs a browser would send for one answer."""
    name = prefix + field.id
    if field.type == "date":
        year, month, day = str(value).split("-")
        return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}
    if field.type == "file":
        names = value if isinstance(value, list) else [value]
        return {name: [(BytesIO((FILES / n).read_bytes()), n) for n in names]}
    if field.type == "group":
        data = {f"{name}-count": str(len(value))}
        parts = {p.id: p for p in field.fields}
        for n, item in enumerate(value):
            for part_id, part_value in item.items():
                data.update(form_data(parts[part_id], part_value, f"{name}-{n}-"))
        return data
    return {name: str(value)}


def walk(client, service, journey: dict, lang: str = "en", max_pages: int = 40, pages: list | None = None):
    """Log in, start the application and answer every step; returns the last response.

    `pages`, when given, collects each step's page as it was first shown.
    """
    response = log_in(client, journey["citizen"], lang=lang)
    assert response.status_code == 302, f"log in as {journey['citizen']} failed"
    base = f"/{lang}/services/{service.slug}/apply"
    page = client.get(base)
    assert page.status_code == 200
    response = client.post(f"{base}/start", data={"csrf_token": token(page.text), "action": "start"})
    answers = journey.get("answers", {})
    seen = []
    for _ in range(max_pages):
        assert response.status_code == 302, response.text[:2000]
        path = urlsplit(response.location).path
        if path.endswith(("/check", "/not-eligible")):
            return client.get(path)
        step_id = path.rsplit("/", 1)[-1]
        seen.append(step_id)
        step = service.wizard.step(step_id)
        assert step is not None, f"redirected to unknown step {path}"
        page = client.get(path)
        assert page.status_code == 200, page.text[:2000]
        if pages is not None:
            pages.append(page)
        data = {"csrf_token": token(page.text), "action": "continue"}
        given = answers.get(step_id, {})
        if step.kind == "confirm":
            data["confirmed"] = given.get("confirmed", "yes") if isinstance(given, dict) else given
        else:
            for field in step.fields:
                if field.id in given:
                    data.update(form_data(field, given[field.id]))
        response = client.post(path, data=data, content_type="multipart/form-data")
        if response.status_code == 200:
            errors = re.findall(r'class="q-error-message"[^>]*>(.*?)</p>', response.text, re.S)
            raise AssertionError(f"step {step_id} refused the answers: {errors}")
    raise AssertionError(f"wizard did not end after {seen}")

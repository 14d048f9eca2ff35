"""`flask translate` commands: extract, update and compile the catalogues."""

from __future__ import annotations

import subprocess
import sys

import click
from babel.messages.pofile import read_po, write_po
from flask import Flask

from webapp.config import REPO_ROOT
from webapp.i18n import LANGUAGES

TRANSLATIONS = REPO_ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
SOURCE_LANGUAGE = "en"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=REPO_ROOT)


def fill_source_catalogue() -> int:
    """English is the source language: its catalogue repeats each msgid."""
    path = TRANSLATIONS / SOURCE_LANGUAGE / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalogue = read_po(handle, locale=SOURCE_LANGUAGE)
    filled = 0
    for message in catalogue:
        if not message.id:
            continue
        if message.pluralizable and not all(message.string):
            message.string = tuple(message.id)
            filled += 1
        elif not message.pluralizable and not message.string:
            message.string = message.id
            filled += 1
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=100, omit_header=False)
    return filled


def init_app(app: Flask) -> None:
    @app.cli.group()
    def translate():
        """Translation and localisation commands."""

    @translate.command()
    def extract():
        """Extract every string to translate into messages.pot."""
        _pybabel(
            "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_pgettext:1c,2", "-o", str(TEMPLATE),
            "--no-location", "--sort-output", "--width", "100", ".",
        )

    @translate.command()
    @click.pass_context
    def update(context):
        """Extract, merge into the kk, ru and en catalogues, and fill English."""
        context.invoke(extract)
        for language in LANGUAGES:
            po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
            command = "update" if po.exists() else "init"
            _pybabel(command, "-i", str(TEMPLATE), "-d", str(TRANSLATIONS), "-l", language,
                     "--width", "100", *(["--no-fuzzy-matching"] if command == "update" else []))
        click.echo(f"English: {fill_source_catalogue()} new entries copied from the source.")

    @translate.command()
    def compile():
        """Compile the catalogues the portal reads at run time."""
        _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


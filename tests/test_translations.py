"""English works: every Chinese source string has its English, and the compiled catalogue is current."""

from pathlib import Path

import polib
from django.utils import translation

PO = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_every_string_is_translated():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == [] and po.fuzzy_entries() == []


def test_the_compiled_catalogue_says_what_the_po_file_says():
    entries = [e for e in polib.pofile(str(PO)) if e.msgid and not e.msgid_plural and not e.msgctxt]
    with translation.override("en"):
        stale = [e.msgid for e in entries if translation.gettext(e.msgid) != e.msgstr]
    assert stale == [], "run: python manage.py compilemessages -l en --ignore '.venv/*'"

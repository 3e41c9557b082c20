"""Text that may be translated lazily: a str, or gettext_lazy's promise, which becomes a str in
the language of whoever reads it. And text made safe to show: without the characters that
reorder or hide what is shown around them."""

import re
from functools import cache

from django.utils.functional import Promise

Text = str | Promise

# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069: "‮gpj.exe"
# shows as "exe.jpg") and marks; zero-width spaces and joiners, the word joiner and invisible
# operators, the byte-order mark inside text, the Mongolian vowel separator, interlinear
# annotation marks, the soft hyphen and the tag characters: text that looks like other text.
INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def visible(text: str) -> str:
    """`text` without the INVISIBLE characters: what is shown is what it says, in its order."""
    return INVISIBLE.sub("", text)


def store_visible(sender, instance, **kwargs) -> None:
    """pre_save, for the site's own models: text fields are stored visible, whichever form, API
    call, import or agent report they came from. A secret (EncryptedTextField) is kept as typed;
    bulk writes (QuerySet.update, bulk_create) pass by, which is why pages and exports are
    cleaned again on the way out."""
    if not sender.__module__.startswith("apps."):
        return
    for name in _text_fields(sender):
        value = getattr(instance, name)
        if isinstance(value, str) and INVISIBLE.search(value):
            setattr(instance, name, visible(value))


@cache
def _text_fields(model) -> tuple[str, ...]:
    from django.db import models

    from apps.core.fields import EncryptedTextField

    return tuple(
        field.attname
        for field in model._meta.concrete_fields
        if isinstance(field, models.CharField | models.TextField) and not isinstance(field, EncryptedTextField)
    )

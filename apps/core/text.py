"""Text that may be translated lazily: a str, or gettext_lazy's promise, which becomes a str in
the language of whoever reads it."""

from django.utils.functional import Promise

Text = str | Promise

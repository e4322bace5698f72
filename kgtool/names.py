"""Names as users type them: in any case and spelling (``FB15k-237``, ``TransE``), and a
"did you mean" for the misspelt ones."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


def known_name(name: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` that ``name`` spells in another case or with other separators
    (``FB15k-237`` and ``fb15k_237`` -> ``fb15k237``; ``CoDEx-M`` -> ``codex-m``), else None."""
    fold = lambda text: re.sub(r"[-_ ]", "", text.lower())
    return next((known for known in names if fold(known) == fold(name)), None)


def did_you_mean(name: str, known: Iterable) -> str:
    """``" (did you mean 'lr'?)"`` for the ``known`` names closest to a misspelt ``name`` (in any
    case), else ``""``."""
    text = str(name)
    if len(text) > 100:  # no name is that long; matching a hostile megabyte would take minutes
        return ""
    by_folded = {str(k).lower(): k for k in known}
    close = difflib.get_close_matches(text.lower(), list(by_folded), n=3)
    return f" (did you mean {' or '.join(repr(by_folded[c]) for c in close)}?)" if close else ""

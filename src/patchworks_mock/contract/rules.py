"""The contract's rules that the suite keeps its own copy of, and the name of its key variable.

The suite judges other servers, so it never takes a rule from the mock's code (see the package
docstring): these are its copies, each written once, here.
"""

from __future__ import annotations

# -- what the contract says (Laravel's behaviour, as `openapi/packages.yaml` documents it) ------

# PHP's trim() characters: Laravel's TrimStrings middleware strips them from both ends of every
# input string, and ConvertEmptyStringsToNull turns what is left, if empty, into null.
TRIMMED = " \t\n\r\0\x0b"
MAX_NAME = 255  # a package name's maxLength
DEFAULT_PRIORITY = 50  # the priority of a flow version added without one
ABSENT = "0"  # Laravel ids start at 1: an id that names nothing, in any path
UNAUTHENTICATED = {"message": "Unauthenticated."}  # the body of every 401

# -- what the suite tells its users ---------------------------------------------------------------

# Where `check --url` looks for the key, and what curl lines in a report say instead of the key.
KEY_VARIABLE = "PATCHWORKS_API_KEY"


def nonblank(text: str) -> bool:
    """Whether anything of `text` is left once trimmed (a blank name counts as missing)."""
    return bool(text.strip(TRIMMED))


def stored(value: str | None) -> str | None:
    """What Laravel keeps of an input string: trimmed, and null if nothing is left."""
    return None if value is None else (value.strip(TRIMMED) or None)

"""Checks of the message catalogs (crowdloop.i18n), as pure functions the catalog test runs on the real
catalogs and on tiny fake ones (to show each check fails when it should).

* Server messages: a fresh extraction of the code (babel.cfg, the keywords of `pybabel extract -k N_`) must
  equal the msgids of every language's messages.po: none missing, none left over (obsolete); in every
  language but English each has a non-fuzzy translation with the same {name} / %(name)s fields.
* JavaScript: every `CL.t('key')` / `CL.tn('key', n)` (key.one and key.other) in the crowd elements,
  every `t('key')` in portal.js and every `t("console.key")` in the console's scripts has a text in every
  language, with the same {name} fields; a key built at
  run time (`CL.t('shape.' + noun)`) needs at least one key with that prefix; no key is left unused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parents[2]
MsgId = str | tuple[str, ...]
_FIELDS = re.compile(r"\{(\w+)\}|%\((\w+)\)s")
_JS_CALL = re.compile(r"""\b(CL\.tn?|t)\(\s*(['"])([^'"]+)\2\s*([,)+])""")


def extract_server_messages(root: Path = ROOT) -> set[MsgId]:
    """The msgids `pybabel extract -F babel.cfg -k N_` finds (singular, or (singular, plural))."""
    with (root / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    found: set[MsgId] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, options_map, keywords=keywords
    ):
        if isinstance(message, tuple):
            found.add(message[0] if len(message) == 1 or not message[1] else (message[0], message[1]))
        else:
            found.add(message)
    return found


def _fields(text: str) -> set[str]:
    return {a or b for a, b in _FIELDS.findall(text)}


def po_problems(extracted: Iterable[MsgId], catalog: Catalog, *, translated: bool) -> list[str]:
    """What is wrong with one language's catalog against the extracted msgids (translated: every message
    needs a translation, not fuzzy, with the msgid's fields)."""
    problems: list[str] = []
    wanted = {m if isinstance(m, str) else m[0]: m for m in extracted}
    entries = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}
    language = catalog.locale_identifier
    for key in sorted(wanted.keys() - entries.keys()):
        problems.append(f"{language}: missing {key!r}")
    for key in sorted(entries.keys() - wanted.keys()):
        problems.append(f"{language}: obsolete (no longer in the code) {key!r}")
    for key in catalog.obsolete:
        problems.append(f"{language}: obsolete entry {key!r}")
    for key in sorted(wanted.keys() & entries.keys()):
        message = entries[key]
        plural = isinstance(wanted[key], tuple)
        if plural != isinstance(message.id, tuple):
            problems.append(f"{language}: {key!r} is {'plural' if plural else 'singular'} in the code")
        if message.fuzzy:
            problems.append(f"{language}: fuzzy {key!r}")
        if not translated:
            continue
        texts = list(message.string) if isinstance(message.string, tuple | list) else [message.string]
        if not texts or not all(texts):
            problems.append(f"{language}: not translated {key!r}")
            continue
        for text in texts:
            if _fields(text) != _fields(key):
                problems.append(f"{language}: fields of {key!r} differ: {sorted(_fields(text))}")
    return problems


def js_keys_used(sources: Iterable[str]) -> tuple[set[str], set[str]]:
    """The keys the JavaScript sources ask for, and the prefixes of the keys they build at run time."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for source in sources:
        for function, _quote, key, after in _JS_CALL.findall(source):
            if after == "+":
                prefixes.add(key)
            elif function == "CL.tn":
                keys.update((key + ".one", key + ".other"))
            else:
                keys.add(key)
    return keys, prefixes


def js_problems(keys: set[str], prefixes: set[str], catalogs: Mapping[str, Mapping[str, str]]) -> list[str]:
    """What is wrong with the JavaScript catalogs ({language: {key: text}}) for these keys and prefixes."""
    problems: list[str] = []
    english = catalogs.get("en", {})
    for language, messages in sorted(catalogs.items()):
        for key in sorted(keys - messages.keys()):
            problems.append(f"{language}: missing {key!r}")
        for prefix in sorted(prefixes):
            if not any(key.startswith(prefix) for key in messages):
                problems.append(f"{language}: no key starts with {prefix!r}")
        for key, text in sorted(messages.items()):
            if key not in keys and not any(key.startswith(prefix) for prefix in prefixes):
                problems.append(f"{language}: unused {key!r}")
            elif not text.strip():
                problems.append(f"{language}: empty {key!r}")
            elif key in english and _fields(text) != _fields(english[key]):
                problems.append(f"{language}: fields of {key!r} differ from English")
    return problems

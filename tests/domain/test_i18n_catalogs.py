"""Every message of the portal, the console and the crowd elements has its English and Korean text
(tests/domain/catalogs.py says what is checked); and the checks fail on catalogs that miss one."""

from __future__ import annotations

import json

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from crowdloop import i18n
from tests.domain.catalogs import ROOT, extract_server_messages, js_keys_used, js_problems, po_problems

LOCALE = ROOT / "crowdloop" / "locale"
STATIC = ROOT / "crowdloop" / "portal" / "static"
CONSOLE_STATIC = ROOT / "crowdloop" / "console" / "static"
JS_SOURCES = [*sorted((STATIC / "crowd").glob("*.js")), STATIC / "portal.js", *sorted(CONSOLE_STATIC.glob("*.js"))]


@pytest.fixture(scope="module")
def extracted() -> set[str | tuple[str, ...]]:
    return extract_server_messages()


def _catalog(code: str) -> Catalog:
    with (LOCALE / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


@pytest.mark.parametrize("code", sorted(i18n.LANGUAGES))
def test_every_server_message_is_in_the_catalog(extracted: set[str | tuple[str, ...]], code: str) -> None:
    assert len(extracted) > 100
    problems = po_problems(extracted, _catalog(code), translated=code != i18n.DEFAULT)
    assert not problems, "\n".join(problems)


def test_every_javascript_key_has_its_texts() -> None:
    keys, prefixes = js_keys_used(path.read_text(encoding="utf-8") for path in JS_SOURCES)
    assert "form.submit" in keys and "page.saving" in keys and "console.live" in keys and "shape." in prefixes
    catalogs = {code: i18n.js_messages(code) for code in i18n.LANGUAGES}
    problems = js_problems(keys, prefixes, catalogs)
    assert not problems, "\n".join(problems)
    assert catalogs["en"].keys() == catalogs["ko"].keys()


def test_the_catalogs_are_what_the_server_loads() -> None:
    assert i18n.Language("ko").gettext("Sign in") == "로그인"
    assert i18n.Language("en").gettext("Sign in") == "Sign in"
    on_disk = json.loads((LOCALE / "ko" / "crowd.json").read_text(encoding="utf-8"))
    assert i18n.js_messages("ko") == on_disk


# --- the checks themselves, on tiny fake catalogs -------------------------------------------------------------


def _fake(code: str, entries: dict[str | tuple[str, str], str | tuple[str]], fuzzy: tuple[str, ...] = ()) -> Catalog:
    catalog = Catalog(locale=code)
    for msgid, text in entries.items():
        key = msgid if isinstance(msgid, str) else msgid[0]
        catalog.add(msgid, text, flags=["fuzzy"] if key in fuzzy else [])
    return catalog


def test_a_missing_message_fails() -> None:
    extracted = {"Sign in", "Hello {name}"}
    complete = _fake("ko", {"Sign in": "로그인", "Hello {name}": "{name}님 안녕하세요"})
    assert po_problems(extracted, complete, translated=True) == []
    missing = _fake("ko", {"Sign in": "로그인"})
    assert po_problems(extracted, missing, translated=True) == ["ko: missing 'Hello {name}'"]


def test_an_untranslated_fuzzy_obsolete_or_mismatched_message_fails() -> None:
    extracted = {"Sign in", "Hello {name}", ("{n} task", "{n} tasks")}
    catalog = _fake(
        "ko",
        {"Sign in": "", "Hello {name}": "안녕하세요 {user}", ("{n} task", "{n} tasks"): ("작업 {n}개",), "Old": "옛"},
        fuzzy=("{n} task",),
    )
    assert po_problems(extracted, catalog, translated=True) == [
        "ko: obsolete (no longer in the code) 'Old'",
        "ko: fields of 'Hello {name}' differ: ['user']",
        "ko: not translated 'Sign in'",
        "ko: fuzzy '{n} task'",
    ]
    english = _fake("en", {"Sign in": "", "Hello {name}": "", ("{n} task", "{n} tasks"): ("", "")})
    assert po_problems(extracted, english, translated=False) == []


def test_a_missing_javascript_key_fails() -> None:
    keys, prefixes = js_keys_used(
        ["CL.t('form.submit'); CL.tn('qa.count', n); CL.t('shape.' + noun); t('page.saving')"]
    )
    assert keys == {"form.submit", "qa.count.one", "qa.count.other", "page.saving"} and prefixes == {"shape."}
    english = {"form.submit": "Submit", "qa.count.one": "{n} pair", "qa.count.other": "{n} pairs"}
    english |= {"shape.box": "box", "page.saving": "Saving…"}
    korean = {"form.submit": "제출", "qa.count.one": "{n}쌍", "qa.count.other": "{count}쌍", "page.saving": " "}
    korean |= {"stale": "옛"}
    assert js_problems(keys, prefixes, {"en": english}) == []
    assert js_problems(keys, prefixes, {"en": english, "ko": korean}) == [
        "ko: no key starts with 'shape.'",
        "ko: empty 'page.saving'",
        "ko: fields of 'qa.count.other' differ from English",
        "ko: unused 'stale'",
    ]

"""The language of a request and what templates need for it (the portal's and the console's pages).

`language_of(request)`: the switcher's cookie, else Accept-Language (crowdloop.i18n.choose), asked once per
request. `template_i18n(language, request)`: gettext / ngettext / _ for jinja2.ext.i18n (new style: fields
filled, escaped when autoescaping), `lang`, and the switcher's links back to this page (`languages`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup
from starlette.requests import Request

from crowdloop import i18n, urls


def language_of(request: Request) -> i18n.Language:
    """The language of a request (kept in its scope: asked once per request)."""
    found = request.scope.get("crowdloop.language")
    if not isinstance(found, i18n.Language):
        code = i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
        found = request.scope["crowdloop.language"] = i18n.Language.of(code)
    return found


def template_i18n(language: i18n.Language, request: Request) -> dict[str, Any]:
    """What every page template gets for its language: gettext / ngettext / _ (jinja2.ext.i18n, new style),
    `lang`, and the switcher's links (`languages`: code, own name, URL back to this page)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    gettext, ngettext = jinja_gettext(language.code)
    return {
        "gettext": gettext,
        "ngettext": ngettext,
        "_": gettext,
        "lang": language,
        "languages": [
            {"code": code, "name": name, "url": urls.language(code, here), "current": code == language.code}
            for code, name in i18n.LANGUAGES.items()
        ],
    }


@cache
def default_globals() -> dict[str, Any]:
    """English gettext / ngettext / _ and `lang` as the environment's globals: what a template rendered
    without a request (a partial, in a test) uses; every page's render passes its own (template_i18n)."""
    gettext, ngettext = jinja_gettext(i18n.DEFAULT)
    return {"gettext": gettext, "ngettext": ngettext, "_": gettext, "lang": i18n.Language.of(None)}


def jinja_gettext(code: str) -> tuple[Callable[..., str], Callable[..., str]]:
    """New-style gettext / ngettext for jinja2.ext.i18n: %(name)s fields filled (escaped when autoescaping)."""
    translations = i18n.translations(code)

    @jinja2.pass_context
    def gettext(context: jinja2.runtime.Context, message: str, **variables: Any) -> str:
        text = translations.gettext(message)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    @jinja2.pass_context
    def ngettext(context: jinja2.runtime.Context, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        text = translations.ngettext(singular, plural, n)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        return text % variables

    return gettext, ngettext

"""Headers for content crowdloop serves but did not write: S3 GetObject/HeadObject, the signed blob URLs of
grant_read_access and the template URLs of DescribeHumanTaskUi.

Such bytes come from requesters' inputs and templates, and they are served on the portal's origin, so they
must never run there, whatever their type (even one a presigned URL chose with response-content-type):

* `X-Content-Type-Options: nosniff`: the browser uses the declared type, never a guess from the bytes;
* `Content-Security-Policy: sandbox; default-src 'none'; ...`: opened as a page, the document has an opaque
  origin and loads nothing; only what lets an image, a sound or a video opened directly be shown stays;
* `Content-Disposition: attachment` for every type a browser could render as an active document (HTML,
  XHTML, SVG, XML, JavaScript) and every type not known to be passive (INLINE_TYPES, image/audio/video
  other than SVG): downloaded, never shown. A disposition the request asked for stays when it is already
  `attachment`; any other is replaced.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = (
    b"sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
)
INLINE_TYPES = frozenset(
    {
        "text/plain",
        "text/csv",
        "text/tab-separated-values",
        "application/json",
        "application/x-ndjson",
        "application/pdf",
    }
)
_INLINE_FAMILIES = ("image/", "audio/", "video/")
_ACTIVE = frozenset({"image/svg+xml"})
_OWN = (b"content-disposition", b"content-security-policy", b"x-content-type-options")


def shown_inline(content_type: str) -> bool:
    """True when a browser shows this type without running anything of it (else it is an attachment)."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _ACTIVE:
        return False
    return media in INLINE_TYPES or media.startswith(_INLINE_FAMILIES)


def inert(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`headers` (with their final Content-Type) plus the three guards above."""
    content_type = next((v for n, v in headers if n == b"content-type"), b"").decode("latin-1")
    disposition = next((v for n, v in headers if n == b"content-disposition"), b"")
    if not shown_inline(content_type) and disposition.split(b";", 1)[0].strip().lower() != b"attachment":
        disposition = b"attachment"
    guarded = [(n, v) for n, v in headers if n not in _OWN]
    guarded += [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", CONTENT_SECURITY_POLICY)]
    if disposition:
        guarded.append((b"content-disposition", disposition))
    return guarded

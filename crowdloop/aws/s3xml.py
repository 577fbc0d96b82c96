"""S3's XML: responses (with the S3 namespace) and the few request documents S3 reads, parsed safely."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree

from crowdloop.aws import wire
from crowdloop.aws.s3errors import malformed_xml

XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def response(status: int, headers: list[tuple[bytes, bytes]], body: str) -> wire.Response:
    return wire.Response(
        status,
        [*headers, (b"content-type", b"application/xml")],
        ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode(),
    )


def iso(timestamp: float) -> str:
    return wire.iso_ms(datetime.fromtimestamp(timestamp, UTC))


def text(value: str) -> str:
    return wire.xml_text(value)


def parse(body: bytes, root: str) -> ElementTree.Element:
    """The request document whose root element is `root` (namespace or not), its tags stripped of the
    namespace; MalformedXML for anything else. Documents with a DTD are refused (no entity expansion)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise malformed_xml()
    try:
        element = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise malformed_xml() from None
    for node in element.iter():
        node.tag = node.tag.rpartition("}")[2]
    if element.tag != root:
        raise malformed_xml()
    return element


def child_text(element: ElementTree.Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None else (found.text or "")

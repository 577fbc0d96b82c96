"""multipart/form-data bodies (RFC 7578) read into a dict of texts: what a browser's form with a file input
sends (the console's gold item upload). Pure, standard library only, no HTTP framework.

    parse(body, content_type) -> {field name: text}

The body has been read whole already (the caller limits its size). Each part needs a Content-Disposition
`form-data` with a name; a file's content is its text like any field's (UTF-8; its file name and type are
not kept). Refused with ValueError (the caller answers 400): no boundary, a missing or unterminated
delimiter, a part without a name, the same name twice, more than MAX_PARTS parts, a part that is not UTF-8.
"""

from __future__ import annotations

from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import collapse_rfc2231_value

MAX_PARTS = 16  # a console form has a handful of fields
MAX_BOUNDARY_CHARS = 70  # RFC 2046
MEDIA_TYPE = "multipart/form-data"


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def _param(header: str, name: str, value: str) -> str | None:
    message = Message()
    message[header] = value
    found = message.get_param(name, header=header)
    if found is None or isinstance(found, str):
        return found
    return collapse_rfc2231_value(found)


def boundary_of(content_type: str) -> bytes:
    boundary = _param("content-type", "boundary", content_type)
    if not boundary or len(boundary) > MAX_BOUNDARY_CHARS or not boundary.isascii():
        raise ValueError("the multipart body has no valid boundary")
    return boundary.encode("ascii")


def parse(body: bytes, content_type: str) -> dict[str, str]:
    """The body's fields as {name: text} (see the module docstring)."""
    delimiter = b"\r\n--" + boundary_of(content_type)
    sections = (b"\r\n" + body).split(delimiter)  # [preamble, part, part, ..., "--" + epilogue]
    if len(sections) < 2 or not sections[-1].startswith(b"--"):
        raise ValueError("the multipart body does not end with its closing delimiter")
    parts = sections[1:-1]
    if len(parts) > MAX_PARTS:
        raise ValueError(f"the multipart body has more than {MAX_PARTS} parts")
    fields: dict[str, str] = {}
    for part in parts:
        name, content = _part(part)
        if name in fields:
            raise ValueError(f"the multipart body has the field {name!r} twice")
        fields[name] = content
    return fields


def _part(part: bytes) -> tuple[str, str]:
    padding, newline, rest = part.partition(b"\r\n")  # the delimiter line may end in spaces (transport padding)
    if not newline or padding.strip(b" \t"):
        raise ValueError("a multipart delimiter is not on a line of its own")
    head, blank, content = rest.partition(b"\r\n\r\n")
    if not blank:
        if not rest.startswith(b"\r\n"):
            raise ValueError("a multipart part has no end of headers")
        head, content = b"", rest[2:]
    headers = BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
    disposition = headers.get("content-disposition")
    if disposition is None or str(disposition).split(";", 1)[0].strip().lower() != "form-data":
        raise ValueError("a multipart part is not form-data")
    name = _param("content-disposition", "name", str(disposition))
    if not name:
        raise ValueError("a multipart part has no name")
    try:
        return name, content.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"the field {name!r} is not UTF-8 text") from None

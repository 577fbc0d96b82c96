"""multipart/form-data bodies (RFC 7578) read into a dict of texts: what a browser's form with a file input
sends (the console's gold item upload). The parsing is python-multipart's (the parser Starlette uses); this
module keeps what crowdloop accepts from it, with no HTTP framework.

    parse(body, content_type) -> {field name: text}

The body has been read whole already (the caller limits its size). Each part needs a Content-Disposition
`form-data` with a name (browsers send names as UTF-8 within quotes); a file's content is its text like any
field's (UTF-8; its file name and type are not kept). Refused with ValueError (the caller answers 400): no
boundary, a body the parser cannot read or that stops before its closing delimiter, a part without a name,
the same name twice, more than MAX_PARTS parts, a part that is not UTF-8.
"""

from __future__ import annotations

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

MAX_PARTS = 16  # a console form has a handful of fields
MAX_BOUNDARY_CHARS = 70  # RFC 2046
MEDIA_TYPE = "multipart/form-data"


def is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def boundary_of(content_type: str) -> bytes:
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary", b"")
    if not boundary or len(boundary) > MAX_BOUNDARY_CHARS or not boundary.isascii():
        raise ValueError("the multipart body has no valid boundary")
    return boundary


class _Collector:
    """The parser's callbacks: each part's headers and content, then the fields."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.ended = False
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._content = bytearray()
        self._parts = 0

    def part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise ValueError(f"the multipart body has more than {MAX_PARTS} parts")
        self._headers, self._content = {}, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        self._headers[bytes(self._header_name).strip().lower()] = bytes(self._header_value).strip()
        self._header_name, self._header_value = bytearray(), bytearray()

    def part_data(self, data: bytes, start: int, end: int) -> None:
        self._content += data[start:end]

    def part_end(self) -> None:
        kind, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if kind.lower() != b"form-data":
            raise ValueError("a multipart part is not form-data")
        try:
            name = params.get(b"name", b"").decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a multipart part's name is not UTF-8") from None
        if not name:
            raise ValueError("a multipart part has no name")
        if name in self.fields:
            raise ValueError(f"the multipart body has the field {name!r} twice")
        try:
            self.fields[name] = bytes(self._content).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"the field {name!r} is not UTF-8 text") from None

    def end(self) -> None:
        self.ended = True


def parse(body: bytes, content_type: str) -> dict[str, str]:
    """The body's fields as {name: text} (see the module docstring)."""
    collector = _Collector()
    parser = MultipartParser(
        boundary_of(content_type),
        callbacks={
            "on_part_begin": collector.part_begin,
            "on_part_data": collector.part_data,
            "on_part_end": collector.part_end,
            "on_header_field": collector.header_field,
            "on_header_value": collector.header_value,
            "on_header_end": collector.header_end,
            "on_end": collector.end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise ValueError(f"the multipart body cannot be read: {exc}") from None
    if not collector.ended:
        raise ValueError("the multipart body does not end with its closing delimiter")
    return collector.fields

"""crowdloop.multipart: multipart/form-data bodies as browsers and httpx write them, and the malformed ones
it refuses."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from crowdloop import multipart


def encoded(data: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    request = httpx.Request("POST", "http://x.test/", data=data, files=files)
    return request.read(), request.headers["content-type"]


def test_fields_and_files_come_back_as_text() -> None:
    content = "line one\r\nline two ü\n\n--not a boundary\r\n".encode()
    body, content_type = encoded({"csrf_token": "tok", "lines": ""}, {"file": ("g ü.jsonl", content)})
    assert multipart.is_multipart(content_type)
    assert multipart.parse(body, content_type) == {"csrf_token": "tok", "lines": "", "file": content.decode()}


def test_a_hand_written_body_with_a_utf8_name_and_an_epilogue() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="\xc3\xa9"\r\nContent-Type: text/plain\r\n\r\n\r\n'
        b"--XyZ--\r\nepilogue"
    )
    assert multipart.parse(body, 'multipart/form-data; boundary="XyZ"') == {"a": "1", "é": ""}


B = "multipart/form-data; boundary=b"


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", "multipart/form-data", "no valid boundary"),
        (b"", "multipart/form-data; boundary=" + "b" * 71, "no valid boundary"),
        (b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1', B, "closing"),
        (b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b', B, "closing"),
        (b"--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--", B, "not form-data"),
        (b"--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--", B, "no name"),
        (b"--bX\r\n\r\n1\r\n--b--", B, "cannot be read"),
        (b'preamble\r\n--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--', B, "cannot be read"),
        (b'--b\r\nContent-Disposition: form-data; name="a"', B, "closing"),
        (
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xff\r\n--b--',
            B,
            "not UTF-8",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' * 2 + b"--b--",
            B,
            "twice",
        ),
        (
            b"".join(b'--b\r\nContent-Disposition: form-data; name="a%d"\r\n\r\n1\r\n' % n for n in range(17))
            + b"--b--",
            B,
            "more than 16 parts",
        ),
    ],
)
def test_malformed_bodies_are_refused(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        multipart.parse(body, content_type)

"""S3's errors as S3 answers them: an XML code, an HTTP status, a message and extra elements.

S3Error is what every S3 module raises (crowdloop.aws.s3.error_response renders it, and maps the domain
errors and WireErrors to it); the functions below build the ones several modules raise, with S3's own
messages, so botocore sees the code it expects.
"""

from __future__ import annotations


class S3Error(Exception):
    def __init__(self, code: str, status: int, message: str, **extra: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.extra = extra


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error("NoSuchBucket", 404, "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> S3Error:
    return S3Error("NoSuchKey", 404, "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        "NoSuchUpload",
        404,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
        "aborted or completed.",
        UploadId=upload_id,
    )


def malformed_xml() -> S3Error:
    return S3Error(
        "MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema"
    )


def invalid_argument(name: str, value: str, message: str) -> S3Error:
    return S3Error("InvalidArgument", 400, message, ArgumentName=name, ArgumentValue=value)


def invalid_request(message: str) -> S3Error:
    return S3Error("InvalidRequest", 400, message)


def entity_too_large(size: int, limit: int) -> S3Error:
    return S3Error(
        "EntityTooLarge",
        400,
        "Your proposed upload exceeds the maximum allowed size",
        ProposedSize=str(size),
        MaxSizeAllowed=str(limit),
    )


def not_implemented(what: str) -> S3Error:
    return S3Error(
        "NotImplemented", 501, f"A header or query you provided implies functionality that is not implemented: {what}."
    )

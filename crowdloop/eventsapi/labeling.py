"""POST /_crowdloop/v1/labeling-jobs/<name>/objects: data objects for a streaming labeling job (docs/labeling.md
"Streaming jobs"), what the job's SNS topic delivers on AWS. The body is JSON Lines (one manifest line per
object) or a JSON object {"objects": [<manifest line object>, ...]}; the answer lists each object's
datasetObjectId and id, and whether it was new."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.routing import Route

from crowdloop import urls
from crowdloop.errors import InvalidInput
from crowdloop.eventsapi.calls import Call, api_call
from crowdloop.eventsapi.errors import json_response
from crowdloop.labeling import streaming

MAX_NAME_CHARACTERS = 63


@api_call
def add_objects(call: Call) -> Response:
    name = call.request.path_params["name"]
    if not 1 <= len(name) <= MAX_NAME_CHARACTERS:
        raise InvalidInput(f"A labeling job name has 1 to {MAX_NAME_CHARACTERS} characters.", "labelingJobName")
    received = streaming.add_objects(call.svc, call.principal.caller, name, _lines(call.body))
    return json_response(
        {"objects": [{"datasetObjectId": r.dataset_object_id, "id": r.object_id, "new": r.new} for r in received]}
    )


def _lines(body: bytes) -> list[bytes]:
    """The objects sent, each as the bytes of one JSON object."""
    stripped = body.strip()
    if stripped.startswith(b"{") and b"\n" not in stripped:  # one line: a manifest line, or {"objects": [...]}
        try:
            value: Any = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            raise InvalidInput("The request body is not valid JSON.", "body") from None
        if isinstance(value, dict) and set(value) == {"objects"}:
            objects = value["objects"]
            if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
                raise InvalidInput("'objects' must be a list of JSON objects (manifest lines).", "objects")
            return [orjson.dumps(o) for o in objects]
    return [line for line in stripped.split(b"\n") if line.strip()]


ROUTES = [Route(urls.LABELING_JOB_OBJECTS, add_objects, methods=["POST"])]

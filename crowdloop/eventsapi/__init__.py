"""The events HTTP API and the live event stream (docs/events-api.md): an edge, like the console.

app.py       EventsApi: the Starlette app (routes of handlers.py and stream.py), started and closed by
             crowdloop.app's lifespan
auth.py      Gate: SigV4 (service "crowdloop") or a console session (+ CSRF for changes); auth = off as the
             AWS API does it
calls.py     how an endpoint runs: body limit, authentication, blocking work placed by crowdloop.blocking
handlers.py  subscriptions and deliveries (crowdloop.subscriptions, crowdloop.deliveries)
labeling.py  a streaming labeling job's new data objects (crowdloop.labeling.streaming)
stream.py    GET /events/stream: Server-Sent Events through eventstream.Follower
errors.py    render_error, the one error renderer (JSON, AWS-style codes)
"""

from crowdloop.eventsapi.app import EventsApi
from crowdloop.eventsapi.errors import MAX_BODY_BYTES

__all__ = ["MAX_BODY_BYTES", "EventsApi"]

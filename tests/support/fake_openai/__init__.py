"""A loopback fake of the OpenAI API for tests and benchmarks.

A Starlette app served by uvicorn on ``127.0.0.1`` (an OS-chosen port) in a background thread with its own event loop,
so sync tests, async tests and benchmark scripts can all point the real ``openai`` client at it::

    with FakeOpenAI(latency=0.05) as fake:
        client = openai.AsyncOpenAI(api_key="sk-test", base_url=fake.base_url, max_retries=0)
        ...
        assert fake.schema_errors == []

Served under ``/v1``: ``POST /responses`` (+ SSE), ``GET``/``DELETE /responses/{id}``, ``POST /images/generations``
(+ SSE), ``POST /images/edits`` (multipart or JSON, + SSE), ``POST``/``GET /files``, ``GET``/``DELETE /files/{id}``,
``GET /files/{id}/content``, ``GET /models`` and ``GET /models/{id}`` (with ``shutdown_date``; the catalogue is
``fake.models``). Anything else is a 404 error envelope.

Account states: a bearer token in ``fake.invalid_keys`` gets 401 ``invalid_api_key`` on every request, and a model id
in ``fake.unverified_models`` gets OpenAI's 403 "Your organization must be verified to use the model ..." from
``GET /models/{id}``. ``enqueue_error(status, path=...)`` answers one request with any error envelope.

Images are real (Pillow): smooth gradients plus per-pixel noise, so a 1024x1024 PNG weighs about 2.5 MB like a photo.
They are cached per (width, height, format, transparent), base64 included, so after the first request the fake's own
time is a few milliseconds.

Keyword triggers in the prompt (Images API) or the newest user text (Responses API):

* ``[moderation]``: Images API -> HTTP 400 ``moderation_blocked``; Responses -> a failed ``image_generation_call``.
* ``[no-image]`` (Responses): no image call, only a message "I can't draw that, but here is a description: ...".
* ``[text-too]`` (Responses): the image call plus a message with a longer text.

Every request sleeps ``latency`` seconds counted from its receipt (asyncio, so hundreds can wait at once); streams
spread it (first partial image at 30 %, the others evenly up to 90 %, the final events at 100 %). A client that goes
away while waiting is recorded in ``disconnects``.

Tests wait for the fake without sleeping: ``wait_for_requests(n)`` / ``wait_for_disconnects(n)`` (and their ``_async``
forms) block until the fake has recorded that many, and ``hold()`` / ``release()`` keep answers back so that a test can
see requests in flight together. Each ``RecordedRequest.scheduled`` lists when, after receipt, the fake planned to send
each part of its answer, so latency behaviour is checked without a clock (``benchmarks/fake_latency.py`` measures it).

Modules: ``records`` (what was received), ``photos`` (the images), ``helpers`` (errors, JSON and SSE encoding),
``parsing`` (request validation), ``asgi`` (disconnect watching, the SSE response), ``base`` (shared state),
``files_api``, ``images_api``, ``models_api``, ``responses_input`` and ``responses_api`` (the endpoints), ``routing``
(the app) and ``server`` (``FakeOpenAI``: lifecycle and test controls).
"""

from tests.support.fake_openai.photos import make_photo_like, photo_like_b64
from tests.support.fake_openai.records import Disconnect, RecordedRequest, UploadedPart
from tests.support.fake_openai.server import FakeOpenAI

__all__ = [
    "Disconnect",
    "FakeOpenAI",
    "RecordedRequest",
    "UploadedPart",
    "make_photo_like",
    "photo_like_b64",
]

"""Names of images: ids and ``openai-image://`` resource URIs."""

from __future__ import annotations

import uuid

import pytest

from openai_image_mcp.core.refs import IMAGE_ID_RE, parse_image_ref, sidecar_ref

ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ID, ID),
        (ID.upper(), ID),
        (f"openai-image://image/{ID}", ID),
        (f"openai-image://image/{ID}.png", ID),
        (f"openai-image://image/{ID}.webp", ID),
        (f'  "openai-image://image/{ID}.jpeg" ', ID),
        (ID[:-1], None),
        (ID + "0", None),
        ("g" * 32, None),
        (f"openai-image://session/{ID}", None),
        (f"openai-image://image/{ID}/x", None),
        (f"/tmp/{ID}.png", None),
        ("", None),
        ("openai-image://guide", None),
    ],
)
def test_parse_image_ref(raw: str, expected: str | None) -> None:
    assert parse_image_ref(raw) == expected


def test_image_id_re_matches_uuid4_hex() -> None:
    assert IMAGE_ID_RE.fullmatch(uuid.uuid4().hex)
    assert not IMAGE_ID_RE.fullmatch(ID.upper())


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("/w/sessions/s/images/image_001.png", "/w/sessions/s/images/image_001_metadata.json"),
        ("s3://bucket/p/sessions/s/images/image_001.png", "s3://bucket/p/sessions/s/images/image_001_metadata.json"),
        ("s3://bucket/a.b.webp", "s3://bucket/a.b_metadata.json"),
    ],
)
def test_sidecar_refs_of_paths_and_urls(ref: str, expected: str) -> None:
    assert sidecar_ref(ref) == expected

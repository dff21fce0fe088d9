"""The Files API endpoints of the fake."""

from __future__ import annotations

import time
from typing import Any

from tests.support.fake_openai.base import _FakeBase
from tests.support.fake_openai.helpers import ApiError, _hex, _Reply
from tests.support.fake_openai.parsing import _FILE_PURPOSES, _last
from tests.support.fake_openai.records import RecordedRequest


class _FilesMixin(_FakeBase):
    """``POST /files`` and the lookup shared by the other ``/files`` routes."""

    def _file_object(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            obj = self._file_objects.get(file_id)
        if obj is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return obj

    def _files_create(self, record: RecordedRequest) -> _Reply:
        if record.form is None:
            raise ApiError(400, "Expected a multipart/form-data body.")
        uploads = record.files.get("file")
        if not uploads:
            raise ApiError(400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = _last(record.form, "purpose")
        if purpose is None:
            raise ApiError(
                400, "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if purpose not in _FILE_PURPOSES:
            raise ApiError(400, f"Invalid value for 'purpose': '{purpose}'.", param="purpose", code="invalid_value")
        upload = uploads[0]
        file_id = "file-" + _hex(22)
        created = int(time.time())
        expires_at: int | None = None
        seconds = _last(record.form, "expires_after[seconds]")
        if seconds is not None and seconds.isdigit():
            expires_at = created + int(seconds)
        obj = {
            "id": file_id,
            "object": "file",
            "bytes": len(upload.data),
            "created_at": created,
            "filename": upload.filename or "upload",
            "purpose": purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": expires_at,
        }
        with self._lock:
            self.files[file_id] = upload.data
            self._file_objects[file_id] = obj
        return _Reply(200, obj)

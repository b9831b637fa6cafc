"""Shared vocabulary of the sandbox's ModelScope side: constants, envelopes, error answers.

Used by `ms_api.py` (accounts and repos) and `ms_files.py` (listings, downloads, uploads).
Envelopes: legacy `/api/v1` answers `{"Code", "Success", "Message", "RequestId", "Data"}`, OpenAPI
`/openapi/v1` answers `{"success", "code", "message", "data"}`. Errors always carry the real HTTP
status: the client ignores `Code != 200` in an HTTP 200 answer except on commits and blob PUTs.
"""

from __future__ import annotations

import calendar
import re
import time

from . import httpbase

PLATFORM = "ms"
SEGMENTS = {"models": "model", "datasets": "dataset"}
VIS_PRIVATE, VIS_INTERNAL, VIS_PUBLIC = 1, 3, 5
# `repo/files` answers at most this many entries (the client then re-lists per directory).
REPO_FILES_LIMIT = 3000
# `repo/tree` page size when the request names none.
TREE_DEFAULT_PAGE_SIZE = 100
LFS_BATCH_MAX_OBJECTS = 64
# Letters, digits, '-', '_', '.'; must start with a letter or digit (ModelScope naming rule).
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# The .gitattributes a new ModelScope repo starts with (abridged).
MS_GITATTRIBUTES = "".join(
    f"{pattern} filter=lfs diff=lfs merge=lfs -text\n"
    for pattern in (
        "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.model *.msgpack *.npy "
        "*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors *.tar.* "
        "*.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*"
    ).split()
)

# Business codes the client maps to exceptions (modelscope_hub/errors.py).
CODE_TOKEN_INVALID = 10010103009
CODE_MODEL_EXISTS = 10010101001
CODE_DATASET_EXISTS = 10020101001
OPENAPI_CODES = {
    400: "InputParameterError",
    401: "InvalidAuthentication",
    403: "OperationNotAllowed",
    404: "ResourceNotFound",
    409: "DuplicateEntity",
    429: "RateLimitExceed",
}


class HttpError(httpbase.HttpError):
    """An error answer in the envelope of the surface that raised it (legacy or OpenAPI)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code=None,
        openapi: bool = False,
        headers: dict | None = None,
    ):
        super().__init__(
            status,
            message,
            None,
            headers=headers,
            body=envelope(status, message, code, openapi=openapi),
        )


def envelope(status: int, message: str, code=None, *, openapi: bool = False) -> dict:
    """Error body: OpenAPI `{success, code: "Slug", message}`, legacy `{Code, Success, Message}`."""
    if openapi:
        return {
            "success": False,
            "code": code or OPENAPI_CODES.get(status, "Error"),
            "message": message,
            "request_id": "",
        }
    return {"Code": code or status, "Success": False, "Message": message, "RequestId": ""}


def ok(data=None, **extra) -> dict:
    """A legacy success envelope."""
    return {
        "Code": 200,
        "Success": True,
        "Message": "success",
        "RequestId": "",
        "Data": data,
        **extra,
    }


def openapi_ok(data) -> dict:
    return {"success": True, "request_id": "", "data": data}


def query_int(query: dict, key: str, default: int) -> int:
    try:
        return int(query.get(key) or default)
    except ValueError as exc:
        raise HttpError(400, f"{key} must be an integer") from exc


def epoch(iso: str) -> int:
    """Unix seconds of the store's ISO-8601 UTC stamps (ModelScope answers epoch seconds)."""
    return calendar.timegm(time.strptime(iso[:19], "%Y-%m-%dT%H:%M:%S"))

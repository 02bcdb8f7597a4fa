"""Every limit and setting of the server, in one place.

Each field can be overridden by an environment variable named ``CONVLAB_<FIELD>``
in upper case, e.g. ``CONVLAB_MAX_UPLOAD_BYTES=20000000``.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    # Uploads
    max_upload_bytes: int = 20 * 1024 * 1024      # bytes read from one upload before answering 413
    max_image_pixels: int = 40_000_000            # declared width × height accepted before decoding (413 above)
    max_side: int = 512                           # default longest side after resizing an upload
    max_side_limit: int = 1024                    # largest max_side a client may ask for
    # Storage
    cache_bytes: int = 256 * 1024 * 1024          # in-memory LRU of normalised images (float32 bytes)
    # Compute
    max_work: int = 400_000_000                   # output pixels × kernel taps × channels per request (413 above)
    max_json_elements: int = 300_000              # numbers in one nested-list JSON array of a request
    max_output_elements: int = 16 * 1024 * 1024   # numbers in one computed array (413 above)
    max_json_response_elements: int = 4_000_000   # numbers in a JSON (not binary) answer (413 above)
    max_request_bytes: int = 25 * 1024 * 1024     # request body cap for every endpoint
    concurrent_requests: int = 4                  # sync handlers running at once per worker; the rest queue in order
    # Training
    max_train_sessions: int = 4                   # concurrent training runs on one server
    max_train_seconds: int = 300                  # wall-clock bound of one training run
    # Server
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1                              # worker processes (the convlab command sets it from --workers)
    # Class mode
    redis_url: str = ""                           # redis://host:6379/0: classes shared by every worker and host
    public_url: str = ""                          # base of the join URL students open, e.g. http://10.0.0.5:8000
    class_idle_hours: float = 6.0                 # a class nobody changed for this long is forgotten

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f"CONVLAB_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls, f.name)) if not isinstance(f.default, dataclasses._MISSING_TYPE) else str
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(f"CONVLAB_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from exc
        return cls(**values)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings.from_env()

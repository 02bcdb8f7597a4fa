"""Every limit and setting of the server, in one place.

Each field can be overridden by an environment variable named ``CONVLAB_<FIELD>``
in upper case, e.g. ``CONVLAB_MAX_UPLOAD_BYTES=20000000``. Values are checked when
the server starts: a number outside its range, or text where a number belongs,
stops it with a message naming the variable, instead of misbehaving later.
"""
from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import InvalidArgument

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONVLAB_", frozen=True, extra="ignore", case_sensitive=False)

    # Uploads
    max_upload_bytes: int = Field(20 * MiB, ge=1, le=1024 * MiB,
                                  description="bytes read from one upload before answering 413")
    max_image_pixels: int = Field(40_000_000, ge=1, le=400_000_000,
                                  description="declared width × height accepted before decoding (413 above)")
    max_side: int = Field(512, ge=8, le=8192, description="default longest side after resizing an upload")
    max_side_limit: int = Field(1024, ge=8, le=8192, description="largest max_side a client may ask for")
    large_image_pixels: int = Field(4_000_000, ge=1,
                                    description="declared pixels from which a decode counts as large")
    concurrent_large_decodes: int = Field(2, ge=1, le=64,
                                          description="large images decoded at once per worker; the rest wait")
    # Storage
    cache_bytes: int = Field(256 * MiB, ge=0, description="in-memory LRU of normalised images (float32 bytes)")
    # Compute
    max_work: int = Field(400_000_000, ge=1, description="output pixels × kernel taps × channels per request (413 above)")
    max_json_elements: int = Field(300_000, ge=1, description="numbers in one nested-list JSON array of a request")
    max_output_elements: int = Field(16 * MiB, ge=1, description="numbers in one computed array (413 above)")
    max_json_response_elements: int = Field(4_000_000, ge=1, description="numbers in a JSON (not binary) answer")
    max_request_bytes: int = Field(25 * MiB, ge=1, description="request body cap for every endpoint")
    concurrent_requests: int = Field(4, ge=1, le=256,
                                     description="sync handlers running at once per worker; the rest queue in order")
    # Training
    max_train_sessions: int = Field(4, ge=0, le=256, description="concurrent training runs on one server")
    max_train_seconds: int = Field(300, ge=1, le=86_400, description="wall-clock bound of one training run")
    # Connections (app/connections.py)
    max_connections: int = Field(1000, ge=8, le=1_000_000,
                                 description="open connections per worker; idle ones are closed first, then newcomers refused")
    request_head_timeout: float = Field(10.0, gt=0, le=600,
                                        description="seconds a connection may take to send a whole request head")
    body_grace_seconds: float = Field(10.0, gt=0, le=600,
                                      description="seconds a request body may take before its rate is checked")
    body_min_rate: int = Field(16 * 1024, ge=1,
                               description="bytes per second a request body must average after the grace")
    keep_alive_seconds: int = Field(5, ge=1, le=600, description="idle seconds before a kept-alive connection closes")
    max_head_bytes: int = Field(32 * 1024, ge=1024, le=1024 * 1024,
                                description="bytes of request line and headers accepted (431 above)")
    # Proxies and host names
    trusted_hosts: str = Field("*", description="comma-separated Host header values answered (* = any)")
    forwarded_allow_ips: str = Field("127.0.0.1",
                                     description="comma-separated proxy addresses whose X-Forwarded-* headers are believed")
    # Server
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=1024,
                         description="worker processes (the convlab command sets it from --workers)")
    # Class mode
    redis_url: str = Field("", description="redis://host:6379/0: classes shared by every worker and host")
    public_url: str = Field("", description="base of the join URL students open, e.g. http://10.0.0.5:8000")
    class_idle_hours: float = Field(6.0, gt=0, le=24 * 30, description="a class nobody changed for this long is forgotten")

    @model_validator(mode="after")
    def _consistent(self):
        if self.max_side > self.max_side_limit:
            raise ValueError(f"max_side ({self.max_side}) must not exceed max_side_limit ({self.max_side_limit})")
        return self

    def trusted_host_list(self) -> list[str]:
        return [h.strip() for h in self.trusted_hosts.split(",") if h.strip()] or ["*"]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Settings from ``environ`` (default: the process environment), with a readable error."""
        try:
            if environ is None:
                return cls()
            prefix = "CONVLAB_"
            values = {k[len(prefix):].lower(): v for k, v in environ.items() if k.upper().startswith(prefix)}
            known = {k: v for k, v in values.items() if k in cls.model_fields}
            return cls.model_validate(known)  # pydantic coerces the strings ("20000000" -> int)
        except ValidationError as exc:
            raise InvalidArgument(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError) -> str:
    """``CONVLAB_PORT='x': Input should be a valid integer`` for each wrong variable."""
    lines = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err.get("loc", ()))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if name:
            lines.append(f"CONVLAB_{name.upper()}={err.get('input')!r}: {msg}")
        else:
            lines.append(msg)
    return "invalid setting: " + "; ".join(lines)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings.from_env()

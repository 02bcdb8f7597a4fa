"""What a hostile client on a classroom network tries, in-process: every answer names what is wrong.

Errors name the nested field a wrong type sits in, say that JSON is nested too deeply,
say that a multipart body was cut off, and never quote a library's internals; only
ConvLab's own ``InvalidArgument`` becomes a 422 with its text. The page and redirects
never take a host from the request; host names and settings are checked.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.errors import InvalidArgument
from app.main import create_app
from tests.conftest import make_client, upload

W3 = [[[[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]]]
X3 = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]


# --- wrong types in nested fields -------------------------------------------------


@pytest.mark.parametrize("path, body, field", [
    ("/api/backward", {"input": X3, "weight": W3, "delta": 5}, "delta"),
    ("/api/backward", {"input": X3, "weight": W3, "gradcheck": [1]}, "gradcheck"),
    ("/api/network/summary", {"input_shape": [1, 8, 8], "layers": [1]}, "layers.0"),
])
def test_a_wrong_type_in_a_nested_field_names_the_field(client, path, body, field):
    r = client.post(path, json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith(f"{field}:") and "JSON object" in detail, detail
    assert "request body must be" not in detail


def test_a_body_that_is_not_an_object_still_says_so(client):
    r = client.post("/api/conv2d", json=[1, 2])
    assert r.status_code == 422 and "request body must be a JSON object" in r.json()["detail"]


@pytest.mark.parametrize("depth", [1000, 5000, 100_000])
def test_json_nested_too_deeply_says_so(client, depth):
    body = b'{"input": ' + b"[" * depth + b"]" * depth + b"}"
    r = client.post("/api/conv2d", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "nested too deeply" in r.json()["detail"]


def test_a_multipart_body_without_its_closing_boundary_is_named(client):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    body = (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + png)
    r = client.post("/api/images", content=body, headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "closing boundary" in detail and "--XyZ--" in detail and "Field required" not in detail
    # the same body, completed, is read normally (and this one is no image: 422 about the file)
    r = client.post("/api/images", content=body + b"\r\n--XyZ--\r\n",
                    headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert r.status_code in (415, 422) and "closing boundary" not in r.json()["detail"]


def _png_with_text_bomb() -> bytes:
    """A 1×1 PNG whose zTXt chunk inflates to 64 MB (Pillow refuses past MAX_TEXT_CHUNK)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    text = b"".join(comp.compress(b"A" * (1 << 20)) for _ in range(64)) + comp.flush()
    idat = zlib.compress(b"\x00\x80")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"zTXt", b"Comment\x00\x00" + text) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_no_message_names_a_library_internal(client):
    r = upload(client, _png_with_text_bomb(), "bomb.png")
    assert r.status_code in (413, 422)
    detail = r.json()["detail"]
    assert "MAX_TEXT_CHUNK" not in detail and "Plugin" not in detail and "PIL" not in detail, detail
    assert "text metadata" in detail


def test_only_convlabs_own_error_becomes_a_422():
    app = create_app(Settings())

    @app.get("/boom/ours")
    def ours():
        raise InvalidArgument("stride must be at least 1, got 0")

    @app.get("/boom/library")
    def library():
        np.zeros(3).reshape(2, 2)  # NumPy's ValueError: a bug of ours, not the user's input

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom/ours")
        assert r.status_code == 422 and r.json()["detail"] == "stride must be at least 1, got 0"
        r = c.get("/boom/library")
        assert r.status_code == 500 and "reshape" not in r.text and "array of size" not in r.text


def test_the_kernels_contract_still_holds():
    from app.kernels import conv2d

    with pytest.raises(ValueError, match="stride"):
        conv2d(np.zeros((1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32), stride=0)
    with pytest.raises(InvalidArgument):
        conv2d(np.zeros((1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32), stride=0)


# --- the Host header ---------------------------------------------------------------


def test_the_page_never_names_the_requests_host(client):
    r = client.get("/", headers={"Host": "evil.example"})
    assert r.status_code == 200
    assert "evil.example" not in r.text
    assert 'src="/static/js/main.js"' in r.text and 'href="/static/css/app.css"' in r.text
    for path in ("/lessons", "/compare"):
        page = client.get(path, headers={"Host": "evil.example"})
        assert page.status_code == 200 and "evil.example" not in page.text and "http://" not in page.text


def test_a_redirect_never_takes_its_host_from_the_request(client):
    r = client.get("/api/samples/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert r.status_code in (307, 308)
    assert r.headers["location"] == "/api/samples"


def test_head_of_the_page_answers_200(client):
    r = client.head("/")
    assert r.status_code == 200 and r.content == b""
    assert client.head("/static/js/main.js").status_code == 200


def test_trusted_hosts_refuse_other_names():
    with make_client(trusted_hosts="localhost,127.0.0.1,[::1],*.school.example") as c:
        assert c.get("/api/health", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        assert c.get("/api/health", headers={"Host": "localhost"}).status_code == 200
        assert c.get("/api/health", headers={"Host": "[::1]:8000"}).status_code == 200
        assert c.get("/api/health", headers={"Host": "lab.school.example"}).status_code == 200
        r = c.get("/", headers={"Host": "evil.example"})
        assert r.status_code == 400 and "evil.example" in r.json()["detail"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_the_convlab_command_answers_only_loopback_names_when_bound_to_loopback(monkeypatch):
    from app import cli
    from app.config import get_settings

    # default_trusted_hosts writes os.environ itself: register the variable with monkeypatch
    # first, so that teardown removes whatever the function wrote (a leak broke later tests).
    monkeypatch.setenv("CONVLAB_TRUSTED_HOSTS", "registered-for-teardown")
    monkeypatch.delenv("CONVLAB_TRUSTED_HOSTS")
    cli.default_trusted_hosts("127.0.0.1")
    assert get_settings().trusted_host_list() == ["localhost", "127.0.0.1", "[::1]"]
    monkeypatch.delenv("CONVLAB_TRUSTED_HOSTS", raising=False)
    get_settings.cache_clear()
    cli.default_trusted_hosts("0.0.0.0")
    assert get_settings().trusted_host_list() == ["*"]
    get_settings.cache_clear()


# --- settings ------------------------------------------------------------------------


def test_settings_keep_their_names_and_defaults():
    s = Settings.from_env({})
    assert (s.max_upload_bytes, s.max_image_pixels, s.max_side, s.max_side_limit) == (20 << 20, 40_000_000, 512, 1024)
    assert (s.cache_bytes, s.max_work, s.max_json_elements, s.max_output_elements) == (256 << 20, 400_000_000,
                                                                                         300_000, 16 << 20)
    assert (s.max_request_bytes, s.concurrent_requests, s.max_train_sessions, s.max_train_seconds) == (25 << 20, 4,
                                                                                                      4, 300)
    assert Settings.from_env({"CONVLAB_MAX_SIDE": "256", "OTHER": "x"}).max_side == 256


@pytest.mark.parametrize("env, named", [
    ({"CONVLAB_MAX_SIDE": "abc"}, "CONVLAB_MAX_SIDE"),
    ({"CONVLAB_PORT": "70000"}, "CONVLAB_PORT"),
    ({"CONVLAB_CONCURRENT_REQUESTS": "0"}, "CONVLAB_CONCURRENT_REQUESTS"),
    ({"CONVLAB_MAX_SIDE": "2048"}, "max_side_limit"),
])
def test_settings_out_of_range_are_refused_with_the_variable_named(env, named):
    with pytest.raises(InvalidArgument, match=named):
        Settings.from_env(env)


def test_settings_read_the_process_environment(monkeypatch):
    monkeypatch.setenv("CONVLAB_MAX_WORK", "1234")
    assert Settings().max_work == 1234

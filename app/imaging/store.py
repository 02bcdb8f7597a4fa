"""A bounded, content-addressed, in-memory store of normalised images.

An image's id is the SHA-256 of its normalised pixels (shape, dtype and bytes), so
every worker and every host that sees the same upload computes the same id. No
worker needs another's memory: a worker that lacks an id answers 404 and the page
uploads the image again. Nothing is written to disk.
"""
from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict

import numpy as np

ID_PATTERN = re.compile(r"^[0-9a-f]{16,64}$|^sample-[a-z0-9-]{1,40}$")


def content_id(pixels: np.ndarray) -> str:
    """The id of an image: a hash of its shape and float32 bytes (24 hex digits)."""
    arr = np.ascontiguousarray(pixels, dtype=np.float32)
    h = hashlib.sha256()
    h.update(repr(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()[:24]


def is_valid_id(image_id: str) -> bool:
    """True for a content id (16–64 lowercase hex digits) or a sample id ``sample-<name>``."""
    return isinstance(image_id, str) and len(image_id) <= 64 and ID_PATTERN.fullmatch(image_id) is not None


class ImageStore:
    """LRU of (C, H, W) float32 arrays bounded by their total bytes.

    Stored arrays are made read-only, so a request that holds one keeps a valid
    array even if the store evicts it meanwhile (eviction only drops the store's
    reference).
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._permanent: dict[str, np.ndarray] = {}  # built-in samples: never evicted, not counted
        self._bytes = 0
        self._lock = threading.Lock()

    def put_permanent(self, image_id: str, pixels: np.ndarray) -> str:
        """Keep ``pixels`` under ``image_id`` for the life of the process (samples)."""
        arr = np.ascontiguousarray(pixels, dtype=np.float32)
        arr.setflags(write=False)
        with self._lock:
            self._permanent[image_id] = arr
        return image_id

    def put(self, pixels: np.ndarray, image_id: str | None = None) -> str:
        arr = np.ascontiguousarray(pixels, dtype=np.float32)
        image_id = image_id or content_id(arr)
        arr.setflags(write=False)
        with self._lock:
            old = self._items.pop(image_id, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[image_id] = arr
            self._bytes += arr.nbytes
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes
        return image_id

    def get(self, image_id: str) -> np.ndarray | None:
        with self._lock:
            arr = self._permanent.get(image_id)
            if arr is not None:
                return arr
            arr = self._items.get(image_id)
            if arr is not None:
                self._items.move_to_end(image_id)
            return arr

    def discard(self, image_id: str) -> bool:
        """Forget an uploaded image (as eviction would); samples stay. Returns whether it was held."""
        with self._lock:
            arr = self._items.pop(image_id, None)
            if arr is not None:
                self._bytes -= arr.nbytes
            return arr is not None

    def __contains__(self, image_id: str) -> bool:
        with self._lock:
            return image_id in self._permanent or image_id in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes

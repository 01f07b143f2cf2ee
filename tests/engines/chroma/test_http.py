"""The Chroma engine on a Chroma server (``chroma+http://``): the session fixture's server."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlsplit

import pytest

pytest.importorskip("chromadb")


def test_the_test_server_answers_its_heartbeat(chroma_http_uri):
    parts = urlsplit(chroma_http_uri)
    assert parts.scheme in ("chroma+http", "chroma+https")
    scheme = parts.scheme.split("+", 1)[1]
    url = f"{scheme}://{parts.hostname}:{parts.port}/api/v2/heartbeat"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert "nanosecond heartbeat" in json.loads(response.read())

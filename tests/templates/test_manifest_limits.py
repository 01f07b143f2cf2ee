"""Hostile manifests hit a named limit: one TemplateError line, never a parser crash."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from dbplay_desktop.templates.container import Manifest, TemplateError, TemplateWriter
from dbplay_desktop.templates.limits import (
    MAX_DEPTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_FILES,
    MAX_NAME_LENGTH,
    MAX_NUMBER_LENGTH,
    MAX_STATS,
)
from tests.templates.test_container import build_template, build_zip, manifest_dict, refusal

SAFE = {"dump.sql": b"SELECT 1;\n"}


def _manifest_text(**overrides: Any) -> str:
    return json.dumps(manifest_dict(SAFE, **overrides))


def _with_raw(key: str, raw_json: str) -> str:
    """The manifest with ``"key": raw_json`` spliced in as text (JSON dumps cannot make it)."""
    text = _manifest_text()
    return text[:-1] + f', "{key}": {raw_json}' + "}"


def _refused(tmp_path: Path, text: str) -> str:
    path = build_zip(tmp_path / "hostile.dbtpl", list(SAFE.items()), text)
    message = refusal(path)
    assert message.startswith("hostile.dbtpl: manifest.json "), message
    for crash in ("Recursion", "unexpected", "4300", "Traceback"):
        assert crash not in message
    return message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("1" * 5000, "a number 5000 characters long", id="5000-digit-int"),
        pytest.param("-" + "9" * 40, "a number 41 characters long", id="negative-long-int"),
        pytest.param("1." + "5" * 100_000, "characters long", id="long-float"),
        pytest.param("1e400", "the number 1e400, too large", id="float-overflow"),
        pytest.param("-1e999", "too large", id="negative-float-overflow"),
    ],
)
def test_numbers_are_bounded(tmp_path: Path, raw: str, expected: str) -> None:
    message = _refused(tmp_path, _with_raw("x", raw))
    assert expected in message


def test_a_long_size_names_the_limit(tmp_path: Path) -> None:
    text = _manifest_text().replace(f'"size": {len(SAFE["dump.sql"])}', '"size": ' + "1" * 5000)
    message = _refused(tmp_path, text)
    assert f"at most {MAX_NUMBER_LENGTH} are allowed" in message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("[" * 100_000 + "]" * 100_000, id="lists-100k-deep"),
        pytest.param('{"a":' * 100_000 + "1" + "}" * 100_000, id="objects-100k-deep"),
        pytest.param("[{" * 20 + "}]" * 20, id="mixed-40-deep"),
        pytest.param("[" * 100_000, id="unclosed-100k-deep"),
    ],
)
def test_nesting_is_bounded(tmp_path: Path, raw: str) -> None:
    message = _refused(tmp_path, _with_raw("x", raw))
    assert f"nests lists or objects more than {MAX_DEPTH} deep" in message


def test_nesting_at_the_limit_and_brackets_in_strings_are_fine() -> None:
    depth_left = MAX_DEPTH - 1  # the manifest object itself is one level
    text = _with_raw("x", "[" * depth_left + "]" * depth_left)
    text = text[:-1] + ', "y": "' + "[{" * 100_000 + '\\"[["}'
    manifest = Manifest.from_json(text)
    assert manifest.extra["y"].startswith("[{[{")


def test_the_depth_check_is_linear() -> None:
    """Escaped quotes and brackets in a huge string cost one pass, not one per quote."""
    text = _with_raw("x", '"' + '\\"[' * 300_000 + '"')
    started = time.process_time()
    Manifest.from_json(text)
    assert time.process_time() - started < 5


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"name": "n" * (MAX_NAME_LENGTH + 1)}, f"'name' is {MAX_NAME_LENGTH + 1} characters"),
        ({"description": "d" * (MAX_DESCRIPTION_LENGTH + 1)}, "'description' is"),
        ({"engine_version": "1" * 100_000}, "'engine_version' is 100000 characters"),
        ({"app_version": "x" * 5000}, "'app_version' is 5000 characters"),
        ({"created_at": "2" * 5000}, "'created_at' is 5000 characters"),
        ({"stats": {f"k{i}": i for i in range(MAX_STATS + 1)}}, f"at most {MAX_STATS}"),
        ({"stats": {"k" * 5000: 1}}, "'stats' has a key 5000 characters long"),
        ({"format": "x" * 100_000}, "key 'format' is 'xxx"),
    ],
)
def test_strings_and_counts_are_bounded(
    tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    message = _refused(tmp_path, _manifest_text(**overrides))
    assert expected in message
    assert len(message) < 300  # a hostile value is never echoed whole


def test_too_many_files_is_refused() -> None:
    """Checked on the decoded list (such a manifest is also over the 1 MiB cap)."""
    files = [{"path": f"f{i}.sql", "sha256": "0" * 64, "size": 0} for i in range(MAX_FILES + 1)]
    with pytest.raises(TemplateError) as info:
        Manifest.from_json(_manifest_text(files=files))
    assert f"lists {MAX_FILES + 1} payload files; at most {MAX_FILES}" in str(info.value)


def test_a_long_payload_path_is_refused(tmp_path: Path) -> None:
    name = "d/" * 600 + "x.sql"
    path = build_template(tmp_path / "hostile.dbtpl", {name: b"SELECT 1;\n"})
    message = refusal(path)
    assert f"'files[0].path' is {len(name)} characters long" in message


def test_the_writer_refuses_what_the_reader_would(tmp_path: Path) -> None:
    for key, limit in (("name", MAX_NAME_LENGTH), ("description", MAX_DESCRIPTION_LENGTH)):
        kwargs = {"name": "ok", "description": "", key: "x" * (limit + 1)}
        with pytest.raises(TemplateError, match=f"{key} may have at most {limit} characters"):
            TemplateWriter(tmp_path / "t.dbtpl", engine="postgresql", **kwargs)
    assert not list(tmp_path.iterdir())
    with TemplateWriter(
        tmp_path / "t.dbtpl", engine="postgresql", name="n" * MAX_NAME_LENGTH,
        description="d\n" * (MAX_DESCRIPTION_LENGTH // 2),
    ) as writer:
        writer.commit("16", {})

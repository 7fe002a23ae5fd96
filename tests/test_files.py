"""Atomic rewrites: the old file stays whole until the new one is complete."""

import pytest

from jaxcrl.files import replace_atomically


def test_a_finished_block_replaces_the_file_and_a_failed_one_leaves_it(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("old\n")
    with pytest.raises(RuntimeError):
        with replace_atomically(path) as stream:
            stream.write("half of the new")
            assert path.read_text() == "old\n"  # readers still see the old file
            raise RuntimeError("crash mid-write")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no half-written stray
    with replace_atomically(path) as stream:
        stream.write("new\n")
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # staging became the file

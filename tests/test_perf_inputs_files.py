"""read_text reads the size stat gives and one byte more (issue 7); a file that is longer than stat
said (it grew, or stat does not know its size, as for /proc files) is still read on to the limit."""

import os

import pytest

from doctor.inputs.files import read_text


def _write(tmp_path, data: bytes) -> str:
    path = tmp_path / "start.sh"
    path.write_bytes(data)
    return str(path)


def test_a_file_of_the_size_stat_gives_is_read_whole(tmp_path):
    text, err, _mode = read_text(_write(tmp_path, b"docker run \\\r\n  img\n"))
    assert (text, err) == ("docker run \\\n  img\n", None)


def test_the_limit_holds_at_its_edge(tmp_path):
    assert read_text(_write(tmp_path, b"x" * 10), limit=10)[:2] == ("x" * 10, None)
    assert read_text(_write(tmp_path, b"x" * 11), limit=10)[1] == "too large (11 bytes; the limit is 10 bytes)"


def test_a_file_longer_than_stat_said_is_read_on_to_the_limit(monkeypatch, tmp_path):
    path = _write(tmp_path, b"docker run img\n" * 4)
    real = os.stat

    def smaller(p, *args, **kwargs):  # the file grew after stat looked at it
        st = real(p, *args, **kwargs)
        if p != path:
            return st
        fields = list(st)
        fields[6] = 3  # st_size
        return os.stat_result(fields)

    monkeypatch.setattr(os, "stat", smaller)
    assert read_text(path)[:2] == ("docker run img\n" * 4, None)
    assert read_text(path, limit=20)[1] == "too large (over 20 bytes)"


@pytest.mark.skipif(not os.path.isfile("/proc/self/status"), reason="no /proc on this system")
def test_a_file_whose_size_stat_does_not_know_is_read():
    assert os.stat("/proc/self/status").st_size == 0
    text, err, _mode = read_text("/proc/self/status")
    assert err is None and text.startswith("Name:")

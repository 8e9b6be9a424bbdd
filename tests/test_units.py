import pytest

from kwsauto.errors import ConfigError, did_you_mean
from kwsauto.units import format_bytes, parse_bytes, parse_duration_s, parse_hz


@pytest.mark.parametrize(
    "text, expected",
    [("64KB", 65536), ("64K", 65536), ("64KiB", 65536), ("64kb", 65536), ("512", 512), ("100B", 100),
     ("1MB", 1048576), ("1.5M", 1572864), ("2MiB", 2097152), (" 64 KB ", 65536)],
)
def test_parse_bytes(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["64QB", "KB", "", "-5KB", "0", "abc"])
def test_parse_bytes_rejects_with_the_value(text):
    with pytest.raises(ConfigError) as info:
        parse_bytes(text)
    assert repr(text) in str(info.value) or "positive" in str(info.value)


@pytest.mark.parametrize("text, expected", [("15m", 900.0), ("1h", 3600.0), ("90s", 90.0), ("90", 90.0), ("1.5h", 5400.0)])
def test_parse_duration(text, expected):
    assert parse_duration_s(text) == expected


def test_parse_hz_and_format():
    assert parse_hz("80MHz") == 80e6
    assert format_bytes(65536) == "64.0 KB"
    assert format_bytes(100) == "100 B"


def test_did_you_mean_prefers_prefix():
    assert "cortex-m4f-120mhz" in did_you_mean("cortex-m4", ["cortex-m4f-120mhz", "cortex-m7-480mhz"])
    assert did_you_mean("zzz", ["alpha"]) == ""

import pytest

from inferd.api.human import human_time
from inferd.units import human_bytes
from inferd.suggestions import did_you_mean


@pytest.mark.parametrize(
    "size, text",
    [(0, "0b"), (1023, "1023b"), (1630, "1.5kb"), (1024, "1kb"), (240 * 1024 * 1024 + 3260, "240mb"),
     (int(86.69 * 1024 * 1024), "86.6mb"), (3 * 1024**3, "3gb")],
)
def test_byte_sizes_match_elasticsearch(size: int, text: str) -> None:
    assert human_bytes(size) == text


def test_time_is_iso_utc_with_millis() -> None:
    assert human_time(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


def test_did_you_mean_keeps_close_names_best_first() -> None:
    assert did_you_mean("alow_no_match", ["allow_no_match", "size", "from"]) == "did you mean [allow_no_match]?"
    assert did_you_mean("sise", ["size", "site", "from"]) == "did you mean any of [site, size]?"
    assert did_you_mean("zzz", ["size"]) == ""

"""Word and sentence boundaries, as the ICU break iterators Elasticsearch's chunkers use (UAX #29), in pure Python.

`word_segments` cuts a text into segments, each a word (letters, digits and marks, joined across `'`, `.` and `:`
between letters, and `.`, `,`, `;` between digits, as `Won't`, `U.S` and `3.14` are; one Han or Hiragana
character; a run of Katakana) or not (a run of horizontal spaces, one line break, one other character), as ICU's
`BreakIterator.getWordInstance` does with its rule status. `sentence_ends` gives where ICU's sentence iterator
breaks: after `.`, `!`, `?` (and their CJK, Arabic and Urdu forms), closing quotes and brackets, the spaces after
them and one paragraph separator; never in `3.14`, `U.S.A`, before a lower-case word (`e.g. this`) or before a
comma. Approximations, documented: CJK runs are not segmented with ICU's dictionary, and Thai, Lao, Khmer and
Myanmar (which ICU segments by dictionary) are cut like Latin text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    start: int
    end: int
    is_word: bool


_IDEOGRAPHIC = ((0x3040, 0x309F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))
_KATAKANA = ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_MID_LETTER = frozenset("'’.:·\u2027\ufe13\ufe55\uff07\uff0e\uff1a")
_MID_NUMBER = frozenset("'’.,;\u066c\ufe50\ufe54\uff0c\uff1b")
_LINE_BREAKS = frozenset("\n\r\u0085\u2028\u2029\x0b\x0c")


def _within(char: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in ranges)


def _is_letter(char: str) -> bool:
    return unicodedata.category(char)[0] in "LM" and not _within(char, _IDEOGRAPHIC) and not _within(char, _KATAKANA)


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"


def _is_word_char(char: str) -> bool:
    return _is_letter(char) or _is_digit(char) or char == "_" or unicodedata.category(char) == "Mn"


def word_segments(text: str) -> list[Segment]:
    """Every segment of `text`, in order, covering it whole."""
    segments: list[Segment] = []
    length = len(text)
    position = 0
    while position < length:
        char = text[position]
        end = position + 1
        if _within(char, _IDEOGRAPHIC):
            segments.append(Segment(position, end, True))
        elif _within(char, _KATAKANA):
            while end < length and _within(text[end], _KATAKANA):
                end += 1
            segments.append(Segment(position, end, True))
        elif _is_word_char(char):
            end = _word_end(text, position)
            segments.append(Segment(position, end, True))
        elif char == "\r" and text[end:end + 1] == "\n":
            segments.append(Segment(position, end + 1, False))
            end += 1
        elif char.isspace() and char not in _LINE_BREAKS:
            while end < length and text[end].isspace() and text[end] not in _LINE_BREAKS:
                end += 1
            segments.append(Segment(position, end, False))
        else:
            segments.append(Segment(position, end, False))
        position = end
    return segments


def _word_end(text: str, start: int) -> int:
    """The end of the word starting at `start`: word characters, joined across a middle character that has a
    letter on both sides (MidLetter) or a digit on both sides (MidNum)."""
    length = len(text)
    end = start
    while True:
        while end < length and _is_word_char(text[end]) and not _within(text[end], _IDEOGRAPHIC) and not _within(
                text[end], _KATAKANA):
            end += 1
        if end + 1 >= length or end == start:
            return end
        middle, before, after = text[end], text[end - 1], text[end + 1]
        letters = _is_letter(before) and _is_letter(after) and middle in _MID_LETTER
        digits = _is_digit(before) and _is_digit(after) and middle in _MID_NUMBER
        if not (letters or digits):
            return end
        end += 1


_TERMINATORS = frozenset(".!?\u037e\u0589\u061f\u06d4\u0700\u0701\u0702\u0964\u0965\u3002\uff01\uff0e\uff1f\ufe52\ufe56"
                         "\ufe57\u203c\u203d\u2047\u2048\u2049")
_FULL_STOPS = frozenset(".\u2024\ufe52\uff0e")
"""ATerm: a terminator that may also abbreviate or sit inside a number."""
_CLOSE = frozenset("\"')]}»”’›」』】〕〉》）\u2019\u201d")
_CONTINUE = frozenset(",;:\u3001\uff0c\uff1a\uff1b\u060c-\u2013\u2014")
_PARAGRAPH_SEPARATORS = frozenset("\n\r\u0085\u2028\u2029")


def sentence_ends(text: str) -> list[int]:
    """The offsets where sentences end (ICU's sentence boundaries after 0), the last being `len(text)`."""
    ends: list[int] = []
    length = len(text)
    position = 0
    while position < length:
        char = text[position]
        if char in _PARAGRAPH_SEPARATORS:
            end = position + 2 if text[position:position + 2] == "\r\n" else position + 1
            ends.append(end)
            position = end
            continue
        if char not in _TERMINATORS:
            position += 1
            continue
        run_end = position
        while run_end < length and text[run_end] in _TERMINATORS:
            run_end += 1
        only_full_stops = all(c in _FULL_STOPS for c in text[position:run_end])
        end = run_end
        while end < length and text[end] in _CLOSE:
            end += 1
        spaces_end = end
        while spaces_end < length and text[spaces_end].isspace() and text[spaces_end] not in _PARAGRAPH_SEPARATORS:
            spaces_end += 1
        if spaces_end < length and text[spaces_end] in _PARAGRAPH_SEPARATORS:
            spaces_end += 2 if text[spaces_end:spaces_end + 2] == "\r\n" else 1
        if not _continues(text, position, run_end, end, spaces_end, only_full_stops):
            ends.append(spaces_end)
        position = max(spaces_end, position + 1)
    if not ends or ends[-1] != length:
        ends.append(length)
    return [end for end in ends if end > 0]


def _continues(text: str, start: int, run_end: int, close_end: int, spaces_end: int, full_stop: bool) -> bool:
    """Whether the sentence goes on past a terminator (SB6, SB7, SB8, SB8a)."""
    length = len(text)
    if spaces_end >= length:
        return False
    if text[spaces_end - 1] in _PARAGRAPH_SEPARATORS:
        return False
    following = text[run_end] if run_end < length else ""
    if full_stop and close_end == run_end == spaces_end:  # nothing between the stop and what follows
        if following and _is_digit(following):
            return True  # SB6: 3.14
        before = text[start - 1] if start > 0 else ""
        if before and before.isupper() and following.isupper():
            return True  # SB7: U.S
    next_char = text[spaces_end]
    if next_char in _CONTINUE or next_char in _TERMINATORS:
        return True  # SB8a
    if full_stop:
        for char in text[spaces_end:]:
            if char.isalpha() or char in _PARAGRAPH_SEPARATORS or char in _TERMINATORS:
                return char.islower()  # SB8: an abbreviation before a lower-case word
    return False

"""``TEST_CASED_VOCAB`` and ``TEST_CASE_MERGE`` of Elasticsearch's ``BpeTokenizerTests``
(x-pack/plugin/ml/src/test/java/org/elasticsearch/xpack/ml/inference/nlp/tokenizers/BpeTokenizerTests.java).

The vocabulary is the 4 specials, ``<mask>``, the first 256 characters of GPT-2's byte alphabet
in the order listed there (``!`` .. ``Ń``), then the merged tokens.
"""

from __future__ import annotations

_ALPHABET = (
    "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
    "¡¢£¤¥¦§¨©ª«¬®¯°±²³´µ¶·¸¹º»¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ"
    "ĀāĂăĄąĆćĈĉĊċČčĎďĐđĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĦħĨĩĪīĬĭĮįİıĲĳĴĵĶķĸĹĺĻļĽľĿŀŁłŃ"
)
_MERGED = (
    "ar it la Go an dz fu il wit ĠGo Ġfu Ġwit dzil ĠGodzil Ġfun Ġwith ĠGodzilla Ela ak ch cs car cak ed ear ics "
    "le lit red st tle Ġa Ġcar Ġlit Ġred ancak Elast earch icsearch Ġlittle ancake Elasticsearch"
).split()

TEST_CASED_VOCAB: list[str] = ["<s>", "<pad>", "</s>", "<unk>", "<mask>", *_ALPHABET, *_MERGED]

TEST_CASE_MERGE: list[str] = [
    "a r", "i t", "l a", "G o", "a n", "d z", "f u", "i l", "w it", "Ġ Go", "Ġ fu", "Ġ wit", "dz il",
    "ĠGo dzil", "Ġfu n", "Ġwit h", "ĠGodzil la", "E la", "a k", "c h", "c s", "c ar", "c ak", "e d", "e ar",
    "i cs", "l e", "l it", "r ed", "s t", "t le", "Ġ a", "Ġ car", "Ġ lit", "Ġ red", "an cak", "Ela st",
    "ear ch", "ics earch", "Ġlit tle", "ancak e",
]  # fmt: skip

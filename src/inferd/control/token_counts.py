"""Counting a model's tokens in the server (OpenAI's `usage`, TEI's `truncate: false`): the deployed build's own
tokenizer, built once per build from its stored vocabulary (`nlp/`, no worker round trip)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from inferd.nlp import NlpTokenizer, TokenizerOptions, build_tokenizer
from inferd.runtime.revision import Revision

MAX_TOKENIZERS = 8


class TokenCounter:
    def __init__(self) -> None:
        self._tokenizers: OrderedDict[tuple[str, int], NlpTokenizer] = OrderedDict()

    def tokenizer(self, revision: Revision) -> NlpTokenizer:
        key = (revision.model_id, revision.build_number)
        found = self._tokenizers.get(key)
        if found is None:
            load = revision.load
            (kind, settings), = load.tokenization.items()
            fields = TokenizerOptions.__dataclass_fields__
            options = TokenizerOptions(**{name: value for name, value in settings.items()
                                          if name in fields and name not in ("truncate", "span")})
            found = build_tokenizer(kind, load.vocabulary, load.merges, load.scores, options)
            self._tokenizers[key] = found
            while len(self._tokenizers) > MAX_TOKENIZERS:
                self._tokenizers.popitem(last=False)
        self._tokenizers.move_to_end(key)
        return found

    def counts(self, revision: Revision, texts: Sequence[str]) -> list[int]:
        """Each text's tokens, special tokens included, before any truncation."""
        tokenizer = self.tokenizer(revision)
        specials = 2 if tokenizer.options.with_special_tokens else 0  # [CLS] and [SEP], <s> and </s>
        return [len(tokenizer.pieces(text, positions=False).ids) + specials for text in texts]

    def max_length(self, revision: Revision) -> int:
        return self.tokenizer(revision).options.max_sequence_length

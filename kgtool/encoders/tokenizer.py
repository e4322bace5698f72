"""A word-level tokenizer, optionally with character n-grams, whose vocabulary is built from the
data it will encode."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable, Optional

import torch

from kgtool.errors import ConfigError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
# Words and single punctuation marks, so "Elbe river;" gives ["elbe", "river", ";"].
_WORD = re.compile(r"\w+|[^\w\s]")
_WORD_CHAR = re.compile(r"\w")  # words get n-grams, punctuation marks do not


class WordTokenizer:
    """Maps texts to fixed-length id rows: id 0 is ``<pad>``, id 1 is ``<unk>``.

    The vocabulary is sorted by falling frequency, ties broken alphabetically, so the same
    texts always give the same ids.

    :param char_ngrams: n > 0 follows each word by its character n-grams, taken from the word
        between boundary marks (fastText): with n = 4, "chieftain" adds ``#<chi``, ``#chie``, …,
        ``#ain>``, so words that share a stem share tokens. ``#`` keeps them apart from words.
        Words of fewer than n - 1 characters add none. 0: words only.
    """

    def __init__(self, tokens: list[str], max_length: int = 32, lowercase: bool = True, char_ngrams: int = 0) -> None:
        if tokens[:2] != [PAD, UNK]:
            raise ConfigError(f"a vocabulary must start with {PAD!r}, {UNK!r}; got {tokens[:2]}")
        if max_length < 1:
            raise ConfigError(f"max_length must be at least 1, got {max_length}")
        if char_ngrams < 0:
            raise ConfigError(f"char_ngrams must be 0 (none) or a length, got {char_ngrams}")
        self.tokens = list(tokens)
        self.max_length = max_length
        self.lowercase = lowercase
        self.char_ngrams = char_ngrams
        self.ids = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        min_freq: int = 1,
        max_size: Optional[int] = None,
        max_length: int = 32,
        lowercase: bool = True,
        char_ngrams: int = 0,
    ) -> "WordTokenizer":
        """Build the vocabulary from ``texts``: words seen at least ``min_freq`` times, the
        ``max_size`` most frequent of them at most (``<pad>`` and ``<unk>`` not counted); with
        ``char_ngrams``, n-grams count as words."""
        counts = Counter(token for text in texts for token in _split(text, lowercase, char_ngrams))
        kept = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        return cls([PAD, UNK] + kept[:max_size], max_length=max_length, lowercase=lowercase, char_ngrams=char_ngrams)

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode(self, texts: Iterable[str]) -> torch.Tensor:
        """Ids of each text's first ``max_length`` tokens (words and n-grams), padded with ``<pad>``.

        :return: shape: (n, max_length), dtype long
        """
        rows = []
        for text in texts:
            ids = [self.ids.get(w, UNK_ID) for w in _split(text, self.lowercase, self.char_ngrams)][: self.max_length]
            rows.append(ids + [PAD_ID] * (self.max_length - len(ids)))
        return torch.tensor(rows, dtype=torch.long).reshape(len(rows), self.max_length)

    __call__ = encode

    def config(self) -> dict[str, Any]:
        """Plain data (a list of str, ints, a bool) that ``from_config`` turns back into this tokenizer."""
        return {"tokens": list(self.tokens), "max_length": self.max_length, "lowercase": self.lowercase,
                "char_ngrams": self.char_ngrams}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "WordTokenizer":
        return cls(**config)


def _split(text: str, lowercase: bool, char_ngrams: int = 0) -> list[str]:
    tokens = []
    for word in _WORD.findall(text.lower() if lowercase else text):
        tokens.append(word)
        marked = f"<{word}>"
        if char_ngrams and len(marked) > char_ngrams and _WORD_CHAR.match(word):
            tokens.extend(f"#{marked[i:i + char_ngrams]}" for i in range(len(marked) - char_ngrams + 1))
    return tokens

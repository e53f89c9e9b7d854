"""Caption vocabulary: words <-> indices for the caption decoder (MWS's PNet).

Built as the MWS code does: lower-cased captions split into word tokens,
words seen at least ``min_count`` times kept, in order of first appearance
after sorting by count; ``<pad>`` = 0, ``<start>`` = 1, ``<end>`` = 2,
``<unk>`` = 3. Tokens are runs of letters, digits and apostrophes, with
punctuation dropped (the original used nltk's ``word_tokenize``, which keeps
punctuation as tokens; captions carry no meaning there). Saved as JSON, so a
vocabulary travels with a model without pickles.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from weaksal.plumbing.atomic import write_json
from weaksal.plumbing.errors import CorruptFileError

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"
SPECIAL = (PAD, START, END, UNK)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(caption: str) -> list[str]:
    """Lower-cased word tokens of a caption."""
    return _WORD.findall(caption.lower())


class Vocabulary:
    """Index of words; unknown words map to ``<unk>``."""

    def __init__(self, words: Sequence[str]) -> None:
        if tuple(words[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"a vocabulary starts with {SPECIAL}")
        self.words = list(words)
        self.index = {word: i for i, word in enumerate(self.words)}
        if len(self.index) != len(self.words):
            raise ValueError("a vocabulary lists each word once")

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 4) -> Vocabulary:
        counts = Counter(token for caption in captions for token in tokenize(caption))
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count and w not in SPECIAL),
            key=lambda w: (-counts[w], w),
        )
        return cls([*SPECIAL, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, caption: str, max_length: int = 20) -> list[int]:
        """``<start> w1 .. wn <end>`` as indices, at most ``max_length`` words kept."""
        unknown = self.index[UNK]
        body = [self.index.get(token, unknown) for token in tokenize(caption)[:max_length]]
        return [self.index[START], *body, self.index[END]]

    def decode(self, indices: Iterable[int]) -> str:
        """Words up to ``<end>``, without the special tokens other than ``<unk>``."""
        words = []
        for i in indices:
            word = self.words[int(i)]
            if word == END:
                break
            if word not in (PAD, START):
                words.append(word)
        return " ".join(words)

    def save(self, path: str | Path) -> None:
        write_json(path, {"words": self.words})

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        path = Path(path)
        try:
            return cls(json.loads(path.read_text(encoding="utf-8"))["words"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CorruptFileError(
                path, f"is not a vocabulary file ({exc})", "rebuild it with Vocabulary.build"
            ) from None

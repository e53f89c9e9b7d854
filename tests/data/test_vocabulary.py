"""Caption vocabulary: counting threshold, special tokens, encode/decode, JSON round trip."""

from __future__ import annotations

import pytest

from weaksal.data.annotations import read_coco_captions
from weaksal.data.vocabulary import SPECIAL, Vocabulary, tokenize
from weaksal.plumbing.errors import CorruptFileError

CAPTIONS = [
    "A dog runs on the grass.",
    "The dog's ball is red!",
    "A cat sits on a red sofa",
    "a DOG and a cat",
]


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("The dog's ball, 2 RED balls!") == ["the", "dog's", "ball", "2", "red", "balls"]


def test_build_keeps_frequent_words_after_the_special_tokens():
    vocabulary = Vocabulary.build(CAPTIONS, min_count=2)
    # counts: a 5, dog 2, red 2, cat 2, on 2, the 2 (dog's is its own word)
    assert vocabulary.words == [*SPECIAL, "a", "cat", "dog", "on", "red", "the"]
    assert Vocabulary.build(CAPTIONS, min_count=6).words == list(SPECIAL)


def test_encode_decode_with_unknown_words_and_length_limit():
    vocabulary = Vocabulary.build(CAPTIONS, min_count=2)
    encoded = vocabulary.encode("A red dog on a zebra")
    assert encoded == [1, 4, 8, 6, 7, 4, 3, 2]
    assert vocabulary.decode(encoded) == "a red dog on a <unk>"
    assert vocabulary.encode("a a a a", max_length=2) == [1, 4, 4, 2]
    assert vocabulary.decode([1, 6, 2, 5]) == "dog"  # stops at <end>


def test_json_round_trip_and_bad_file(tmp_path):
    vocabulary = Vocabulary.build(CAPTIONS, min_count=1)
    vocabulary.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json").words == vocabulary.words
    (tmp_path / "bad.json").write_text('{"words": ["a"]}')
    with pytest.raises(CorruptFileError, match="bad.json.*not a vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")


@pytest.mark.data
def test_coco_mini_vocabulary(real_data):
    files = sorted((real_data / "COCO-MINI" / "annotations").glob("captions_*.json"))
    assert files, "the shared data has COCO-MINI caption files"
    captions = [c for f in files for cs in read_coco_captions(f).values() for c in cs]
    vocabulary = Vocabulary.build(captions, min_count=4)
    assert len(captions) >= 5 * 150
    assert {"man", "a", "on", "of"} <= set(vocabulary.words)
    assert 100 < len(vocabulary) < 2000
    for caption in captions[:50]:
        expected = [w if w in vocabulary.index else "<unk>" for w in tokenize(caption)[:20]]
        assert vocabulary.decode(vocabulary.encode(caption)) == " ".join(expected)

import pytest

from kgtool.encoders import WordTokenizer
from kgtool.encoders.tokenizer import PAD_ID, UNK_ID
from kgtool.errors import ConfigError


def test_vocabulary_by_frequency_then_alphabet_with_min_freq_and_max_size():
    tokenizer = WordTokenizer.fit(["b a c", "a b", "a d"], min_freq=2)
    assert tokenizer.tokens == ["<pad>", "<unk>", "a", "b"]
    assert WordTokenizer.fit(["b a c", "a b", "a d"], max_size=1).tokens == ["<pad>", "<unk>", "a"]


def test_unknown_words_padding_and_truncation():
    tokenizer = WordTokenizer.fit(["the cat sat"], max_length=4)
    ids = tokenizer.encode(["The zebra", "cat sat the cat sat"])
    assert ids.tolist() == [
        [tokenizer.ids["the"], UNK_ID, PAD_ID, PAD_ID],
        [tokenizer.ids["cat"], tokenizer.ids["sat"], tokenizer.ids["the"], tokenizer.ids["cat"]],
    ]


def test_punctuation_is_split_and_empty_text_is_all_padding():
    tokenizer = WordTokenizer.fit(["Elbe river;"], max_length=3)
    assert tokenizer.tokens[2:] == [";", "elbe", "river"]
    assert tokenizer.encode([""]).tolist() == [[PAD_ID] * 3]


def test_config_round_trip_gives_the_same_ids():
    tokenizer = WordTokenizer.fit(["x y z", "y z", "z"], max_length=5, lowercase=False, char_ngrams=2)
    rebuilt = WordTokenizer.from_config(tokenizer.config())
    assert rebuilt.encode(["z Y x"]).tolist() == tokenizer.encode(["z Y x"]).tolist()
    assert rebuilt.encode(["Y"]).tolist()[0][0] == UNK_ID  # case kept: "Y" is not "y"


def test_invalid_vocabulary_is_rejected():
    with pytest.raises(ConfigError):
        WordTokenizer(["a", "b"])


def test_char_ngrams_follow_each_word_and_link_shared_stems():
    tokenizer = WordTokenizer.fit(["chieftain", "chieftainship, a"], max_length=20, char_ngrams=4)
    assert tokenizer.config()["char_ngrams"] == 4
    words = [tokenizer.tokens[i] for i in tokenizer.encode(["Chieftain, a"])[0] if i]
    # "<chieftain>" has 8 four-grams; "," and the one-letter "a" are too short for any
    assert words == ["chieftain", "#<chi", "#chie", "#hief", "#ieft", "#efta", "#ftai", "#tain", "#ain>", ",", "a"]
    stem = set(tokenizer.encode(["chieftain"])[0].tolist()) - {PAD_ID}
    derived = set(tokenizer.encode(["chieftainship"])[0].tolist()) - {PAD_ID}
    assert len(stem & derived) == 7 and UNK_ID not in stem | derived  # all but "#ain>"


def test_negative_char_ngrams_are_rejected():
    with pytest.raises(ConfigError):
        WordTokenizer.fit(["a"], char_ngrams=-1)

import json
import subprocess
import sys

import pytest
from tokenizers import Tokenizer

from magicvideo_models.captions_corpus import all_captions, canonical_caption
from magicvideo_models.tokenizer import (
    BOS_TOKEN,
    DEFAULT_VOCAB_SIZE,
    EOS_TOKEN,
    MAX_LENGTH,
    PAD_TOKEN,
    bos_token_id,
    build_tokenizer,
    eos_token_id,
    learn_merges,
    save_tokenizer,
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    # Through the file, as serving loads it: padding and truncation must come from tokenizer.json.
    path = save_tokenizer(build_tokenizer(), tmp_path_factory.mktemp("tok") / "tokenizer.json")
    return Tokenizer.from_file(str(path))


def test_vocabulary_has_the_default_size_with_bos_and_eos_last(tokenizer: Tokenizer) -> None:
    assert tokenizer.get_vocab_size() == DEFAULT_VOCAB_SIZE
    assert tokenizer.token_to_id(BOS_TOKEN) == bos_token_id(DEFAULT_VOCAB_SIZE) == DEFAULT_VOCAB_SIZE - 2
    assert tokenizer.token_to_id(EOS_TOKEN) == eos_token_id(DEFAULT_VOCAB_SIZE) == DEFAULT_VOCAB_SIZE - 1


def test_every_grammar_caption_decodes_back_to_itself(tokenizer: Tokenizer) -> None:
    captions = all_captions()
    encodings = tokenizer.encode_batch(captions)
    decoded = tokenizer.decode_batch([e.ids for e in encodings])
    mismatches = [(c, d) for c, d in zip(captions, decoded, strict=True) if c != d]
    assert mismatches == []


def test_uppercase_captions_decode_lowercased(tokenizer: Tokenizer) -> None:
    caption = "A RED Circle Moving Right"
    assert tokenizer.decode(tokenizer.encode(caption).ids) == caption.lower()


def test_every_caption_is_bos_tokens_eos_then_padding_to_77(tokenizer: Tokenizer) -> None:
    bos, eos = tokenizer.token_to_id(BOS_TOKEN), tokenizer.token_to_id(PAD_TOKEN)
    for encoding in tokenizer.encode_batch(all_captions()):
        ids, mask = encoding.ids, encoding.attention_mask
        assert len(ids) == MAX_LENGTH
        text_length = sum(mask) - 2
        assert text_length >= 1
        assert ids[0] == bos
        assert eos not in ids[1 : 1 + text_length] and bos not in ids[1:]
        assert ids[1 + text_length :] == [eos] * (MAX_LENGTH - 1 - text_length)


def test_grammar_words_are_single_tokens(tokenizer: Tokenizer) -> None:
    # "a red circle moving right": BOS, a, red, circle, moving, right, EOS
    assert sum(tokenizer.encode(canonical_caption("red", "circle", "right")).attention_mask) == 7


def test_a_200_word_prompt_truncates_to_77_ending_with_eos(tokenizer: Tokenizer) -> None:
    prompt = " ".join(["a green triangle drifting upwards over the quiet grey sea"] * 20)
    assert len(prompt.split()) == 200
    encoding = tokenizer.encode(prompt)
    assert len(encoding.ids) == MAX_LENGTH
    assert encoding.ids[0] == tokenizer.token_to_id(BOS_TOKEN)
    assert encoding.ids[-1] == tokenizer.token_to_id(EOS_TOKEN)
    assert sum(encoding.attention_mask) == MAX_LENGTH


def test_words_outside_the_corpus_tokenize_without_loss(tokenizer: Tokenizer) -> None:
    text = "zxqv ñandú 東京 🙂 supercalifragilistic"
    encoding = tokenizer.encode(text)
    assert sum(encoding.attention_mask) > 10
    assert tokenizer.decode(encoding.ids) == text


def test_padding_and_truncation_are_written_in_the_file(tmp_path) -> None:
    config = json.loads(save_tokenizer(build_tokenizer(), tmp_path / "tokenizer.json").read_text())
    assert config["padding"]["strategy"] == {"Fixed": MAX_LENGTH}
    assert config["padding"]["direction"] == "Right"
    assert config["padding"]["pad_token"] == EOS_TOKEN
    assert config["padding"]["pad_id"] == DEFAULT_VOCAB_SIZE - 1
    assert config["truncation"]["max_length"] == MAX_LENGTH
    assert config["post_processor"]["type"] == "RobertaProcessing"


def test_same_corpus_gives_identical_bytes_in_separate_processes(tmp_path) -> None:
    paths = [tmp_path / f"run{i}" / "tokenizer.json" for i in range(2)]
    for path in paths:
        subprocess.run([sys.executable, "-m", "magicvideo_models.tokenizer", str(path)], check=True)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_merges_break_ties_by_the_pair_itself() -> None:
    # ("a","b") and ("c","d") both occur 3 times: the smaller pair is merged first.
    counts = {("c", "d</w>"): 3, ("a", "b</w>"): 3, ("x", "y</w>"): 1}
    assert learn_merges(counts, 10) == [("a", "b</w>"), ("c", "d</w>")]


def test_a_smaller_vocab_size_is_honoured() -> None:
    assert build_tokenizer(vocab_size=600).get_vocab_size() == 600

"""A CLIP-style byte-level BPE tokenizer, trained on the shipped corpus, saved as tokenizer.json.

The pipeline is the one of OpenAI CLIP as transformers writes it (CLIPTokenizer): NFC, runs of
whitespace to one space, lowercase; split into letter runs, single digits, punctuation runs and
English contractions (whitespace removed); byte-level alphabet; BPE whose word-final symbols
carry the suffix "</w>". The vocabulary is laid out like CLIP's: the 256 byte symbols, the 256
byte symbols with "</w>", one token per learned merge in merge order, then
<|startoftext|> (BOS) and <|endoftext|> (EOS) as the last two ids. Every byte is in the
vocabulary, so any text tokenizes and nothing is ever unknown.

Sequences are BOS + tokens + EOS, truncated to 77 keeping EOS, and padded to 77 on the right
with <|endoftext|>, as Stable Diffusion 1.x's CLIP tokenizer pads: under CLIP's causal mask the
padding cannot change the states at or before EOS. Padding and truncation are configured inside
tokenizer.json, so the Rust/Python `tokenizers` library returns 77 ids from the file alone.

Merges are learned here rather than by `tokenizers`' BpeTrainer: the trainer breaks ties
between equally frequent pairs in hash order, so the same corpus gave different merges from one
process to the next. Counting words through the tokenizer's own normalizer and pre-tokenizer and
breaking ties by the pair itself makes the same corpus give byte-identical tokenizer.json files.
"""

from __future__ import annotations

import argparse
import collections
from collections.abc import Iterable
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE

from magicvideo_models.captions_corpus import tokenizer_corpus

MAX_LENGTH = 77
BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = EOS_TOKEN
END_OF_WORD_SUFFIX = "</w>"
DEFAULT_VOCAB_SIZE = 1024

# CLIP's word splitting (transformers' CLIPTokenizer): contractions, letter runs, single digits,
# runs of other non-space characters.
_CLIP_WORD_PATTERN = (
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
)
_BYTE_SYMBOLS: tuple[str, ...] = tuple(sorted(pre_tokenizers.ByteLevel.alphabet()))
_BASE_VOCAB_SIZE = 2 * len(_BYTE_SYMBOLS) + 2  # bytes, bytes + "</w>", BOS, EOS

Pair = tuple[str, str]


def bos_token_id(vocab_size: int) -> int:
    """BOS is the second-to-last id, as in CLIP."""
    return vocab_size - 2


def eos_token_id(vocab_size: int) -> int:
    """EOS (also the padding token) is the last id, as in CLIP."""
    return vocab_size - 1


def _empty_pipeline(vocab: dict[str, int], merges: list[Pair]) -> Tokenizer:
    tokenizer = Tokenizer(
        BPE(
            vocab=vocab,
            merges=merges,
            dropout=None,
            continuing_subword_prefix="",
            end_of_word_suffix=END_OF_WORD_SUFFIX,
            fuse_unk=False,
        )
    )
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_WORD_PATTERN), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    # Byte symbols back to text, then each "</w>" back to the space it stood for.
    tokenizer.decoder = decoders.Sequence(
        [
            decoders.ByteLevel(),
            decoders.Replace(END_OF_WORD_SUFFIX, " "),
            decoders.Strip(content=" ", left=0, right=1),
        ]
    )
    return tokenizer


def _word_counts(tokenizer: Tokenizer, corpus: Iterable[str]) -> dict[tuple[str, ...], int]:
    """Words as the tokenizer's own normalizer and pre-tokenizer cut them, as BPE symbol tuples."""
    counts: collections.Counter[tuple[str, ...]] = collections.Counter()
    for line in corpus:
        normalized = tokenizer.normalizer.normalize_str(line)
        for piece, _ in tokenizer.pre_tokenizer.pre_tokenize_str(normalized):
            counts[(*piece[:-1], piece[-1] + END_OF_WORD_SUFFIX)] += 1
    return dict(sorted(counts.items()))


def _merge_word(word: tuple[str, ...], pair: Pair) -> tuple[str, ...]:
    merged: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def learn_merges(word_counts: dict[tuple[str, ...], int], num_merges: int) -> list[Pair]:
    """Greedy BPE: merge the most frequent adjacent pair, ties to the smallest pair; stop at
    num_merges or when no pair occurs twice."""
    words = list(word_counts)
    frequencies = [word_counts[w] for w in words]
    pair_counts: collections.Counter[Pair] = collections.Counter()
    words_with_pair: dict[Pair, set[int]] = collections.defaultdict(set)
    for index, word in enumerate(words):
        for pair in zip(word, word[1:], strict=False):
            pair_counts[pair] += frequencies[index]
            words_with_pair[pair].add(index)

    merges: list[Pair] = []
    while len(merges) < num_merges and pair_counts:
        best = min(pair_counts, key=lambda p: (-pair_counts[p], p))
        if pair_counts[best] < 2:
            break
        merges.append(best)
        for index in sorted(words_with_pair.pop(best)):
            old, new = words[index], _merge_word(words[index], best)
            for pair in zip(old, old[1:], strict=False):
                pair_counts[pair] -= frequencies[index]
                if pair_counts[pair] <= 0:
                    del pair_counts[pair]
            for pair in zip(new, new[1:], strict=False):
                pair_counts[pair] += frequencies[index]
                words_with_pair[pair].add(index)
            words[index] = new
    return merges


def build_tokenizer(vocab_size: int = DEFAULT_VOCAB_SIZE, corpus: Iterable[str] | None = None) -> Tokenizer:
    """Train the tokenizer on `corpus` (default: the shipped captions + English corpus).

    The vocabulary has `vocab_size` entries unless the corpus runs out of pairs seen twice first.
    """
    if vocab_size <= _BASE_VOCAB_SIZE:
        raise ValueError(f"vocab_size must exceed the {_BASE_VOCAB_SIZE} byte and special symbols")
    counting = _empty_pipeline({}, [])
    merges = learn_merges(
        _word_counts(counting, tokenizer_corpus() if corpus is None else corpus),
        vocab_size - _BASE_VOCAB_SIZE,
    )
    symbols = [*_BYTE_SYMBOLS, *(s + END_OF_WORD_SUFFIX for s in _BYTE_SYMBOLS), *(a + b for a, b in merges)]
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    vocab[BOS_TOKEN] = len(vocab)
    vocab[EOS_TOKEN] = len(vocab)

    tokenizer = _empty_pipeline(vocab, merges)
    specials = [AddedToken(token, special=True, normalized=False) for token in (BOS_TOKEN, EOS_TOKEN)]
    tokenizer.add_special_tokens(specials)
    bos, eos = tokenizer.token_to_id(BOS_TOKEN), tokenizer.token_to_id(EOS_TOKEN)
    tokenizer.post_processor = processors.RobertaProcessing(
        (EOS_TOKEN, eos), (BOS_TOKEN, bos), trim_offsets=False, add_prefix_space=False
    )
    # Truncation counts the two special tokens, so EOS always survives as the 77th id.
    tokenizer.enable_truncation(max_length=MAX_LENGTH)
    tokenizer.enable_padding(direction="right", length=MAX_LENGTH, pad_id=eos, pad_token=PAD_TOKEN)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, path: str | Path) -> Path:
    """Write tokenizer.json (pretty-printed; byte-identical for the same corpus and vocab size)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path), pretty=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the CLIP-style tokenizer and write tokenizer.json")
    parser.add_argument("output", type=Path, help="path of the tokenizer.json to write")
    parser.add_argument("--vocab-size", type=int, default=DEFAULT_VOCAB_SIZE)
    args = parser.parse_args()
    tokenizer = build_tokenizer(args.vocab_size)
    print(f"wrote {save_tokenizer(tokenizer, args.output)} (vocab {tokenizer.get_vocab_size()})")


if __name__ == "__main__":
    main()

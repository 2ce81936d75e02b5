"""English words in a foreign accent: English phonemes read with another language's espeak-ng phoneme table.

espeak-ng reads text in `[[...]]` as phoneme mnemonics, so `-v gmw/de "[[l'Eft]]"` says "left" with German
sounds: the English word, the German speaker's vowels, r and stress. A language's table lacks some English
phonemes and espeak-ng silently drops them (`up`'s V, `stop`'s 0 and `off`'s O2 in German), so the few vowels
missing from most tables are replaced by their nearest common neighbour (SUBSTITUTES), and a word is spoken
in a language only if the phonemes come back unchanged from that language (`espeak-ng -x` round trip).
More accents in training is a lever for held-out accents and voices that no English voice file covers.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Sequence

from tinycore.audio.espeak import language_voice_files, phonemes

ENGLISH_VOICE = "en-us"  # whose pronunciation the foreign speakers imitate
# English phoneme -> the nearest one most phoneme tables have (checked by the round trip, not assumed): the open
# back vowels of "off"/"on" (O2) and "stop" (0) -> O, "up"'s V -> a, "bird"'s 3: -> @: and "backward"'s 3 -> @;
# "2'" (secondary before primary stress, "st2'0p") keeps the primary stress only
SUBSTITUTES = (("O2", "O"), ("2'", "'"), ("0", "O"), ("V", "a"), ("3:", "@:"), ("3", "@"))


@lru_cache(maxsize=None)  # a pure function of the installed espeak-ng: speakable and its callers share it
def foreign_phonemes(word: str) -> str:
    """The phoneme string a foreign speaker reads for word: ENGLISH_VOICE's mnemonics with SUBSTITUTES."""
    text = phonemes(word, ENGLISH_VOICE)
    for english, common in SUBSTITUTES:
        text = text.replace(english, common)
    return text


def speakable(words: Sequence[str], languages: Sequence[str], workers: int = 4) -> dict[str, list[str]]:
    """{word: [languages whose table speaks every phoneme of foreign_phonemes(word)]}, languages in given order,
    each word once (a word given twice is one key). Unknown languages raise (a typo must not silently shrink the
    accent list)."""
    files = language_voice_files()
    missing = [lang for lang in languages if lang not in files]
    if missing:
        raise ValueError(f"foreign accents: no espeak-ng language voice {', '.join(missing)} here")
    texts = {w: foreign_phonemes(w) for w in words}
    pairs = [(w, lang) for w in texts for lang in languages]
    with ThreadPoolExecutor(workers) as pool:  # subprocesses: threads suffice
        same = dict(zip(pairs, pool.map(lambda p: phonemes(f"[[{texts[p[0]]}]]", files[p[1]]) == texts[p[0]],
                                        pairs)))
    return {w: [lang for lang in languages if same[w, lang]] for w in texts}

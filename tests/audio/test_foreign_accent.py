"""Foreign-accented English: English phonemes with the missing vowels substituted, kept only where another
language's table speaks them all, and spoken with that language's sounds."""
import numpy as np
import pytest

from tinycore.audio.espeak import language_voice_files, phonemes, synthesize
from tinycore.audio.foreign_accent import SUBSTITUTES, foreign_phonemes, speakable


def test_substitutes_replace_the_vowels_most_tables_lack():
    assert phonemes("up", "en-us") == "'Vp" and foreign_phonemes("up") == "'ap"
    assert foreign_phonemes("stop") == "st'Op" and foreign_phonemes("off") == "'Of"
    assert foreign_phonemes("left") == phonemes("left", "en-us")  # nothing to substitute
    english = {e for e, _ in SUBSTITUTES}
    for word in ("stop", "off", "up", "bird", "backward", "on"):
        assert not any(e in foreign_phonemes(word) for e in english - {"2'"}), word


def test_round_trip_decides_which_language_speaks_a_word():
    """German and Italian keep every phoneme of "left" and (substituted) "stop"; without the substitution German
    drops `stop`'s vowel, and Mandarin's table speaks neither word."""
    table = speakable(["left", "stop"], ["de", "it", "cmn"])
    assert table == {"left": ["de", "it"], "stop": ["de", "it"]}
    files = language_voice_files()
    assert phonemes(f"[[{phonemes('stop', 'en-us')}]]", files["de"]) != phonemes("stop", "en-us")


def test_unknown_language_is_an_error():
    with pytest.raises(ValueError, match="xx-nowhere"):
        speakable(["left"], ["de", "xx-nowhere"])


def test_a_foreign_accent_sounds_unlike_the_english_voice():
    files = language_voice_files()
    text = f"[[{foreign_phonemes('left')}]]"
    english, _ = synthesize(text, files["en-us"])
    german, _ = synthesize(text, files["de"])
    hindi, _ = synthesize(text, files["hi"])
    for x in (german, hindi):
        assert np.sqrt(np.mean(x ** 2)) > 1e-3  # speech, not the silence of dropped phonemes
        assert not np.array_equal(x, english)  # (False for different lengths too)
    assert not np.array_equal(german, hindi)

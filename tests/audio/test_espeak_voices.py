"""Generated espeak-ng speakers: deterministic variant files in plausible ranges, spoken through a private data
folder, and the voice-file accent form that keeps a variant."""
import numpy as np
import pytest

from tinycore.audio.espeak import accent_voice_files, english_accents, espeak_data_dir, synthesize
from tinycore.audio.espeak_voices import (VARIANTS_PER_DIR, data_path_for, generated_names, random_variant,
                                          variant_texts, write_data_dirs)


def _fields(text: str) -> dict[str, list[list[int]]]:
    out: dict[str, list[list[int]]] = {}
    for line in text.splitlines()[2:]:
        key, *values = line.split()
        out.setdefault(key, []).append([int(v) for v in values] if key != "gender" else [])
    return out


def test_variant_files_are_deterministic_distinct_and_in_range():
    names = generated_names(60)
    texts = variant_texts(names, (0, 3))
    assert texts == variant_texts(names, (0, 3)) and texts != variant_texts(names, (1, 3))
    assert variant_texts(names[:10], (0, 3)) == {n: texts[n] for n in names[:10]}  # a prefix keeps its files
    assert len(set(texts.values())) == len(names)
    scales = []
    for name, text in texts.items():
        f = _fields(text)
        assert text.startswith(f"language variant\nname {name}\n")
        (lo, hi), = f["pitch"]
        assert 60 <= lo < hi <= 260 * 1.9
        assert [row[0] for row in f["formant"]] == list(range(9))
        assert all(80 <= freq <= 150 and 70 <= h <= 130 and 80 <= w <= 160 for _, freq, h, w in f["formant"])
        scales.append(f["formant"][0][1])
    assert min(scales) < 95 and max(scales) > 110  # male and female/child vocal tracts both drawn


def test_private_data_dirs_speak_generated_voices(tmp_path):
    names = generated_names(VARIANTS_PER_DIR + 3)  # two folders: espeak-ng lists at most 349 voice files
    texts = variant_texts(names, (0, 3))
    root = write_data_dirs(tmp_path / "voices", texts)
    assert sorted(p.name for p in root.iterdir()) == ["0", "1"]
    for name in names:
        assert (data_path_for(root, name) / "espeak-ng-data" / "voices" / "!v" / name).read_text() == texts[name]
    data = data_path_for(root, names[0]) / "espeak-ng-data"
    assert (data / "phontab").resolve() == (espeak_data_dir() / "phontab").resolve()
    assert len(list((data / "voices" / "!v").iterdir())) == VARIANTS_PER_DIR
    files = accent_voice_files()
    plain, _ = synthesize("left", files["en-us"], data_path=data.parent)
    assert np.array_equal(plain, synthesize("left", "en-us")[0])  # the linked data is the installed data
    spoken = [synthesize("left", f"{files['en-us']}+{n}", data_path=data_path_for(root, n))[0]
              for n in names[:2] + names[-2:]]
    for x in spoken:
        assert np.sqrt(np.mean(x ** 2)) > 0.01 and not np.array_equal(x, plain)
    assert not np.array_equal(spoken[0], spoken[1])
    again = write_data_dirs(tmp_path / "voices", {"gen0000": texts["gen0000"]})  # rewritten, stale files gone
    assert [p.name for p in again.iterdir()] == ["0"]
    assert [p.name for p in (again / "0" / "espeak-ng-data" / "voices" / "!v").iterdir()] == ["gen0000"]


@pytest.mark.parametrize("accent", ["en-gb", "en-gb-x-rp", "en-us"])
def test_accent_voice_file_keeps_the_variant(accent):
    """`-v <voice file>+f2` differs from the accent alone for every accent (`-v en-gb+f2` does not, in 1.51)."""
    files = accent_voice_files()
    assert set(english_accents()) <= set(files) | {a for a in english_accents() if a.startswith("mb-")}
    plain, _ = synthesize("yes", files[accent])
    assert np.array_equal(plain, synthesize("yes", accent)[0])
    assert not np.array_equal(plain, synthesize("yes", f"{files[accent]}+f2")[0])


def test_random_variant_draws_a_fixed_order():
    a = random_variant("x", np.random.default_rng(5))
    assert a == random_variant("x", np.random.default_rng(5)) and a != random_variant("x", np.random.default_rng(6))

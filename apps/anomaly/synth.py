"""Synthetic machine sounds for the built-in anomaly data set: four machine types, machine IDs, five anomaly kinds.

Each machine type imitates the behaviour of its DCASE 2020 Task 2 namesake:
  fan     stationary hum: blade-pass tone + harmonics with slow speed drift, broadband airflow noise
  pump    motor hum + pulsation at the stroke rate of the pistons, band-limited fluid noise
  slider  periodic strokes: a motor whine and a band of sliding friction while the carriage moves
  valve   intermittent clicks: short decaying resonances at irregular intervals over a faint hiss
An ID is one unit of its type's model: the type's base tone frequency, harmonics, rates and noise band are drawn
once from the type, then each unit differs from them by a few per cent (UNIT_SPREAD) as real units of one model do,
so one unit's normal can sound like another's speed-shift fault. Each ID also stands in its own room (reverberation
time and wet/dry ratio drawn from the id).
Anomalies (ANOMALY_KINDS), each at three severities (SEVERITIES: slight, subtle, obvious; 2 of 3 not obvious):
  bearing    impulse train at a defect rate exciting a 2.5-5 kHz resonance (valve: a worn plunger guide rattles
             after each actuation)
  imbalance  amplitude modulation at the shaft rate and a strong 1x tone (slider: whine wobble + 0.5x tone;
             valve: chatter after each click)
  shift      running speed / resonance moved by a few per cent
  rubbing    bursts of 1-4 kHz friction noise at random times
  missing    strokes that stall: the motor strains at a lower pitch without the sliding sound (fan/pump: the tone
             drops out; valve: a missed actuation leaves the valve unseated, so fluid leaks with a hiss until the
             next one)
A machine plays at its own level: its normal sound is scaled by the RMS of a reference render of the same machine
(not per clip), so an anomaly adds or removes energy as it would in a real recording; but normal clips vary too:
operating-point drift (speed +-OP_SPEED, load tilting the harmonics +-OP_LOAD), a level change of +-LEVEL_DB (load,
microphone placement), room reverberation, and a factory background: pink/brown noise, mains hum and clanks at a
random SNR, with another machine of another type running in the background in half of the clips (clip-level seed:
deterministic).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from scipy.signal import butter, sosfilt

from tinycore.audio.noise import coloured_noise, hum

MACHINE_TYPES = ("fan", "pump", "slider", "valve")
MACHINE_IDS = ("00", "02", "04")
ANOMALY_KINDS = ("bearing", "imbalance", "shift", "rubbing", "missing")
SEVERITIES = ("slight", "subtle", "obvious")
SNR_DB = (-6.0, 6.0)  # machine (its normal level) vs factory background, uniform per clip: MIMII's -6/0/6 dB
UNIT_SPREAD = 0.06  # units of one type differ by up to +-6 % in speed, rates and noise band
OP_SPEED = 0.03  # normal operating-point drift of the running speed, +- per clip
OP_LOAD = 0.25  # normal load change: harmonic h's level scaled by 1 + load * (h - 1) / n, load uniform +-
LEVEL_DB = 3.0  # normal level change per clip, +- dB
RT60_S = (0.2, 0.8)  # reverberation time range of the rooms (one per ID)
OTHER_DB = (-18.0, -8.0)  # a background machine's level relative to the watched machine
MACHINE_RMS = 0.1
LEAK_BAND_HZ = (400.0, 2500.0)  # flow noise through an unseated valve
RATTLE_S = 0.15  # a worn valve plunger rattles this long after each actuation
REFERENCE_SEED = 12345  # the render whose RMS fixes each machine's level


@dataclass(frozen=True)
class Machine:
    """The fixed parameters of one machine (type + id)."""
    kind: str
    machine_id: str
    f0_hz: float           # running speed tone (fan blade pass, pump/slider motor); valve: click resonance
    harmonics: tuple[float, ...]  # levels of harmonics 1..n
    rate_hz: float         # pump pulsation, slider stroke rate, valve mean click rate
    noise_band_hz: tuple[float, float]  # airflow / fluid / friction / hiss band
    noise_level: float     # band noise level relative to the tone


def machine(kind: str, machine_id: str) -> Machine:
    """Parameters of one machine: its type's base model (drawn from the type) varied by UNIT_SPREAD (drawn from the
    id), so every data-set seed hears the same machines and units of one type are alike but not equal."""
    base = np.random.default_rng([MACHINE_TYPES.index(kind), 977])
    unit = np.random.default_rng([MACHINE_TYPES.index(kind), int(machine_id)])

    def vary(x: float) -> float:
        return float(x * (1.0 + unit.uniform(-UNIT_SPREAD, UNIT_SPREAD)))

    n_h = int(base.integers(4, 8))
    harm = tuple(float(base.uniform(0.3, 1.0) / (h + 1) ** base.uniform(0.5, 1.2) * unit.uniform(0.8, 1.25))
                 for h in range(n_h))
    ranges = {"fan": ((110, 320), (0.0, 0.0), (200, 600), (2500, 5000), (0.4, 0.8)),
              "pump": ((60, 160), (3, 9), (800, 1500), (3000, 6000), (0.3, 0.6)),
              "slider": ((300, 700), (0.6, 1.4), (1500, 2500), (4000, 7000), (0.6, 1.2)),
              "valve": ((1200, 3500), (1.5, 4.0), (3000, 5000), (6000, 7800), (0.3, 0.5))}
    if kind not in ranges:
        raise ValueError(f"unknown machine type {kind!r}; known: {MACHINE_TYPES}")
    f0, rate, lo, hi, level = (base.uniform(*r) for r in ranges[kind])
    return Machine(kind, machine_id, vary(f0), harm, vary(rate), (vary(lo), min(vary(hi), 7900.0)), vary(level))


def room(machine_id: str, kind: str) -> tuple[float, float]:
    """(RT60 in s, wet/dry ratio) of the room one machine stands in."""
    rng = np.random.default_rng([MACHINE_TYPES.index(kind), int(machine_id), 31])
    return float(rng.uniform(*RT60_S)), float(rng.uniform(0.2, 0.6))


def _band_noise(n: int, band: tuple[float, float], sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    sos = butter(4, [band[0], band[1]], btype="bandpass", fs=sr, output="sos")
    x = sosfilt(sos, rng.standard_normal(n))
    return x / max(np.sqrt(np.mean(x ** 2)), 1e-12)


def _drift(n: int, sr: int, depth: float, rng: np.random.Generator) -> NDArray[np.float64]:
    """Slow random speed factor around 1 (+-depth), smooth over ~1 s."""
    knots = rng.uniform(-1, 1, size=int(n / sr) + 3)
    t = np.arange(n) / sr
    return 1.0 + depth * np.interp(t, np.arange(len(knots)), knots)


def _tone(f_hz: NDArray, harmonics: tuple[float, ...], sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    phase = 2 * np.pi * np.cumsum(f_hz) / sr
    out = np.zeros_like(phase)
    for h, level in enumerate(harmonics, start=1):
        if np.max(f_hz) * h < sr / 2 - 200:
            out += level * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    return out


def _resonance(n: int, f_hz: float, decay_s: float, sr: int) -> NDArray[np.float64]:
    t = np.arange(n) / sr
    return np.sin(2 * np.pi * f_hz * t) * np.exp(-t / decay_s)


def _place(x: NDArray, starts: NDArray, kernel: NDArray, gains: NDArray | None = None) -> None:
    """Add `kernel` at each start index (clipped at the end)."""
    for i, s in enumerate(starts.astype(int)):
        m = min(len(kernel), len(x) - s)
        if m > 0:
            x[s:s + m] += kernel[:m] * (1.0 if gains is None else gains[i])


def _unit(x: NDArray) -> NDArray[np.float64]:
    return x / max(np.sqrt(np.mean(x ** 2)), 1e-12)


def _strokes(m: Machine, n: int, sr: int, rng: np.random.Generator, missing: float, speed: float,
             wobble: float) -> NDArray[np.float64]:
    """Slider: each period the carriage moves for 45 % of it (motor whine + friction band), then an end click.
    `missing`: fraction of strokes that stall (whine at 0.8x pitch, no friction, no click); `wobble`: depth of
    an 11 Hz amplitude modulation of the whine (an unbalanced drive)."""
    period = 1.0 / (m.rate_hz * speed)
    starts = np.arange(rng.uniform(0, period), n / sr, period)
    move = np.zeros(n)
    stalled = np.zeros(n)
    seg = int(0.45 * period * sr)
    env = np.sin(np.linspace(0, np.pi, seg)) ** 0.5
    is_stall = rng.random(len(starts)) < missing
    if missing > 0 and not is_stall.any():
        is_stall[rng.integers(len(starts))] = True
    for s, st in zip((starts * sr).astype(int), is_stall):
        k = min(seg, n - s)
        (stalled if st else move)[s:s + k] += env[:k]
    f = m.f0_hz * speed * _drift(n, sr, 0.01, rng)
    whine = _tone(f, m.harmonics, sr, rng) * (1.0 + wobble * np.sin(2 * np.pi * 11.0 * np.arange(n) / sr))
    whine += 2.0 * wobble * np.sin(np.pi * np.cumsum(f) / sr)  # a half-order (0.5 x) tone
    strain = _tone(0.8 * f, m.harmonics[:3], sr, rng)
    friction = _band_noise(n, m.noise_band_hz, sr, rng)
    click = _resonance(int(0.03 * sr), m.noise_band_hz[0] * 1.5, 0.006, sr)
    ends = np.array([s + seg for s, st in zip((starts * sr).astype(int), is_stall) if not st])
    clicks = np.zeros(n)
    _place(clicks, ends[ends < n], click)
    return move * (whine + m.noise_level * friction) + 1.5 * stalled * strain + 2.0 * clicks


def _clicks(m: Machine, n: int, sr: int, rng: np.random.Generator, missing: float, shift: float,
            jitter: float, rattle: float = 0.0) -> NDArray[np.float64]:
    """Valve: open/close click pairs at intervals of 1 / rate +-20 %; `jitter` > 0 adds chatter (three bounces
    33 ms apart after each click, at `jitter` times its level); `missing`: fraction of actuations that fail to
    seat: no click, and the valve leaks (LEAK_BAND_HZ hiss, level growing with `missing`) until the next one;
    `rattle` > 0: a worn plunger guide (the valve's bearing) rattles for RATTLE_S after each actuation, impulses
    at 40-70 Hz exciting a 2.5-5 kHz resonance at `rattle` times the click level."""
    t, times = rng.uniform(0, 0.3), []
    while t < n / sr:
        times.append(t)
        t += rng.uniform(0.8, 1.2) / m.rate_hz
    times = np.array(times)
    keep = rng.random(len(times)) >= missing
    if missing > 0 and keep.all():
        keep[rng.integers(len(times))] = False
    kernel = _resonance(int(0.08 * sr), m.f0_hz * shift, 0.02, sr)
    kernel += 0.5 * _resonance(int(0.08 * sr), m.f0_hz * shift * 2.3, 0.01, sr)
    x = np.zeros(n)
    gains = rng.uniform(0.8, 1.2, len(times))
    _place(x, (times[keep] * sr), kernel, gains[keep])
    for b in range(1, 4) if jitter > 0 else ():
        _place(x, (times[keep] * sr + b * 0.033 * sr), kernel, jitter * gains[keep])
    # a second, quieter click 40-60 ms later (the valve seating)
    _place(x, (times[keep] * sr + rng.uniform(0.04, 0.06) * sr), 0.4 * kernel, gains[keep])
    if rattle > 0:
        rate, f_res = rng.uniform(40, 70), rng.uniform(2500, 5000)
        hit = _resonance(int(0.01 * sr), f_res, 0.0015, sr)
        hits = np.concatenate([t + np.arange(0, RATTLE_S, 1 / rate) + rng.normal(0, 0.002, int(np.ceil(RATTLE_S * rate)))
                               for t in times[keep]]) if keep.any() else np.zeros(0)
        hits = hits[(hits >= 0) & (hits < n / sr)]
        _place(x, hits * sr, hit, rattle * rng.uniform(0.5, 1.0, len(hits)) * np.max(np.abs(kernel)))
    hiss = _band_noise(n, m.noise_band_hz, sr, rng)
    leak = np.zeros(n)
    ends = np.append(times[1:], n / sr)
    for a, b in zip((times[~keep] * sr).astype(int), (ends[~keep] * sr).astype(int)):
        leak[a:b] = 1.0
    if leak.any():
        leak *= missing * _band_noise(n, LEAK_BAND_HZ, sr, rng) * np.sqrt(np.mean(kernel ** 2))
    return x + m.noise_level * hiss + leak


SEVERITY_SCALE = {
    # kind: (slight, subtle, obvious) strength, used as documented in each branch of `machine_sound`
    "bearing": (0.4, 1.0, 2.0), "imbalance": (0.4, 0.8, 1.0), "shift": (0.05, 0.1, 0.2), "rubbing": (0.6, 1.5, 3.0),
    "missing": (0.25, 0.5, 0.8),
}


def machine_sound(m: Machine, n: int, sr: int, rng: np.random.Generator, anomaly: str | None = None,
                  severity: str = "obvious", speed: float = 1.0, load: float = 0.0) -> NDArray[np.float64]:
    """n samples of machine m at its fixed level (normal sound ~ unit RMS) at operating point (speed factor, load),
    optionally with one anomaly at `severity`: the anomaly adds or removes energy instead of being normalized
    away."""
    if anomaly is not None and anomaly not in ANOMALY_KINDS:
        raise ValueError(f"unknown anomaly {anomaly!r}; known: {ANOMALY_KINDS}")
    ref = m
    n_h = len(m.harmonics)
    m = replace(m, harmonics=tuple(v * (1.0 + load * h / n_h) for h, v in enumerate(m.harmonics)))
    s = SEVERITY_SCALE[anomaly][SEVERITIES.index(severity)] if anomaly else 0.0
    shift = (1.0 - s if anomaly == "shift" else 1.0) * speed
    if m.kind == "slider":
        x = _strokes(m, n, sr, rng, s if anomaly == "missing" else 0.0, shift, s if anomaly == "imbalance" else 0.0)
    elif m.kind == "valve":
        x = _clicks(m, n, sr, rng, s if anomaly == "missing" else 0.0, shift, s if anomaly == "imbalance" else 0.0,
                    s if anomaly == "bearing" else 0.0)
    else:
        f = m.f0_hz * shift * _drift(n, sr, 0.015, rng)
        tone = _tone(f, m.harmonics, sr, rng)
        t = np.arange(n) / sr
        if m.kind == "pump":
            tone *= 1.0 + 0.5 * np.sin(2 * np.pi * m.rate_hz * shift * t + rng.uniform(0, 6.3))
        if anomaly == "imbalance":  # shaft-rate wobble + 1x tone (shaft = f0 / 4 for a 4-blade fan / pump)
            shaft = 2 * np.pi * np.cumsum(f / 4) / sr
            tone = tone * (1.0 + s * np.sin(shaft)) + 1.5 * s * np.sin(shaft * 2)
        if anomaly == "missing":  # pulsation / blade drop-outs: the tone stalls in 0.2 s gaps
            gate = _drift(n, sr, 1.0, rng) - 1.0 > (2 * s - 1)
            tone = np.where(gate, tone, 0.8 * _tone(0.8 * f, m.harmonics[:2], sr, rng))
        x = _unit(tone) + m.noise_level * _band_noise(n, m.noise_band_hz, sr, rng)
    x = x / _reference_rms(ref, n, sr)
    if anomaly == "bearing" and m.kind != "valve":  # the valve's bearing rattles in _clicks
        rate = rng.uniform(25, 70)
        starts = np.arange(rng.uniform(0, 1 / rate), n / sr, 1 / rate) * sr
        starts += rng.normal(0, 0.002 * sr, len(starts))
        imp = np.zeros(n)
        _place(imp, np.clip(starts, 0, n - 1), _resonance(int(0.01 * sr), rng.uniform(2500, 5000), 0.0015, sr))
        x = x + s * _unit(imp)
    elif anomaly == "rubbing":
        env = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            a = int(rng.uniform(0, n - 0.8 * sr))
            env[a:a + int(rng.uniform(0.3, 0.8) * sr)] = 1.0
        x = x + s * env * _band_noise(n, (1000.0, 4000.0), sr, rng)
    return x


@lru_cache(maxsize=64)
def _reference_rms(m: Machine, n: int, sr: int) -> float:
    """RMS of one fixed normal render of machine m (before level scaling): every clip of m, normal or not, is
    divided by it, so a machine keeps one level across clips as a microphone on a real machine hears it."""
    rng = np.random.default_rng(REFERENCE_SEED)
    if m.kind == "slider":
        x = _strokes(m, n, sr, rng, 0.0, 1.0, 0.0)
    elif m.kind == "valve":
        x = _clicks(m, n, sr, rng, 0.0, 1.0, 0.0)
    else:
        return float(np.sqrt(1.0 + m.noise_level ** 2))  # unit tone + independent unit band noise
    return float(np.sqrt(np.mean(x ** 2)))


def reverberate(x: NDArray, rt60_s: float, wet: float, sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """x in a room: direct sound plus `wet` (RMS ratio) of x convolved with exponentially decaying noise whose
    energy falls 60 dB in rt60_s."""
    from scipy.signal import fftconvolve

    t = np.arange(int(min(rt60_s, 1.0) * sr)) / sr
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)
    tail = fftconvolve(x, ir)[:len(x)]
    return x + wet * tail * np.sqrt(np.mean(x ** 2)) / max(np.sqrt(np.mean(tail ** 2)), 1e-12)


def factory_background(m: Machine, n: int, sr: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """Unit-RMS factory noise (pink/brown, mains hum, a few clanks) plus, in half of the clips, another machine of
    another type (a unit no ID of the set uses) running for part of the clip at OTHER_DB."""
    bg = _unit(coloured_noise(n, float(rng.uniform(1.0, 2.0)), rng) + 0.3 * hum(n, sr, rng))
    clanks = np.zeros(n)
    _place(clanks, rng.uniform(0, n, int(rng.integers(0, 4))),
           _resonance(int(0.2 * sr), float(rng.uniform(300, 2500)), 0.03, sr), rng.uniform(0.5, 2.0, 4))
    out = bg + clanks
    if rng.random() < 0.5:
        other = machine(str(rng.choice([t for t in MACHINE_TYPES if t != m.kind])), str(int(rng.integers(90, 99))))
        env = np.zeros(n)
        a = int(rng.uniform(0, 0.5) * n)
        env[a:a + int(rng.uniform(0.3, 1.0) * n)] = 1.0
        out = out + 10 ** (rng.uniform(*OTHER_DB) / 20) * env * machine_sound(other, n, sr, rng)
    return out


def render_clip(m: Machine, n: int, sr: int, seed: int, anomaly: str | None = None,
                severity: str = "obvious") -> tuple[NDArray[np.float32], float]:
    """One clip: machine m (MACHINE_RMS at its normal level, +-LEVEL_DB) at a drawn operating point in its room,
    over the factory background at a random SNR relative to the normal level: (samples in [-1, 1), snr_db)."""
    rng = np.random.default_rng(seed)
    speed, load = 1.0 + rng.uniform(-OP_SPEED, OP_SPEED), rng.uniform(-OP_LOAD, OP_LOAD)
    level = MACHINE_RMS * 10 ** (rng.uniform(-LEVEL_DB, LEVEL_DB) / 20)
    x = level * reverberate(machine_sound(m, n, sr, rng, anomaly, severity, speed, load), *room(m.machine_id, m.kind),
                            sr, rng)
    snr = float(rng.uniform(*SNR_DB))
    bg = factory_background(m, n, sr, rng)
    mix = x + bg * MACHINE_RMS * 10 ** (-snr / 20)
    return np.clip(mix, -1.0, 32767 / 32768).astype(np.float32), snr

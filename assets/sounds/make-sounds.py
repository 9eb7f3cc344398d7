#!/usr/bin/env python3
"""Synthesises the terminal's feedback sounds, reproducibly, with the
standard library alone (math + wave): the same script always writes the same
bytes, and the sounds are the project's own work (Apache-2.0).

  python3 assets/sounds/make-sounds.py [OUT_DIR]     # default: beside this file

Writes 16-bit PCM mono WAV files at 22,050 Hz:
  scan-good.wav  a short bright beep: 100 ms of 1,800 Hz with a touch of its
                 second harmonic, 5 ms raised-cosine attack and a 40 ms decay,
                 so it starts and ends at silence and does not click.
  scan-bad.wav   a lower double buzz: two 110 ms bursts of a band-limited
                 square-ish wave at 330 Hz (odd harmonics up to 5 kHz, so
                 small counter speakers that cannot play 330 Hz still sound
                 it), 70 ms apart; 300 ms in all.
  confirm.wav    a soft two-note chime for a committed sale: G5 then C6
                 (784 Hz, 1,046.5 Hz), a rising fourth, bell-like partials
                 decaying over ~0.35 s each, the second note 130 ms after the
                 first; 520 ms in all, quieter than the scan sounds.
"""

import math
import os
import sys
import wave

RATE = 22050


def envelope(i, n, attack, release):
    """Raised-cosine fade in over `attack` samples and out over the last
    `release` samples: no step at either end, hence no click."""
    gain = 1.0
    if i < attack:
        gain *= 0.5 - 0.5 * math.cos(math.pi * i / attack)
    if i >= n - release:
        gain *= 0.5 - 0.5 * math.cos(math.pi * (n - 1 - i) / release)
    return gain


def beep(freq, ms, attack_ms, release_ms, harmonics):
    """A tone of `freq` with `harmonics` as (multiple, amplitude) pairs."""
    n = RATE * ms // 1000
    attack = RATE * attack_ms // 1000
    release = RATE * release_ms // 1000
    total = sum(a for _, a in harmonics)
    out = []
    for i in range(n):
        t = i / RATE
        v = sum(a * math.sin(2 * math.pi * freq * k * t) for k, a in harmonics) / total
        out.append(v * envelope(i, n, attack, release))
    return out


def silence(ms):
    return [0.0] * (RATE * ms // 1000)


def chime_note(freq, ms, decay_s):
    """A bell-like note: a few partials, each decaying exponentially (the
    higher ones faster), with a 4 ms attack and a 20 ms fade at the end."""
    n = RATE * ms // 1000
    partials = [(1.0, 1.0, 1.0), (2.0, 0.35, 1.8), (3.0, 0.12, 2.6)]
    total = sum(a for _, a, _ in partials)
    out = []
    for i in range(n):
        t = i / RATE
        v = sum(
            a * math.exp(-t * speed / decay_s) * math.sin(2 * math.pi * freq * k * t)
            for k, a, speed in partials
        ) / total
        out.append(v * envelope(i, n, RATE * 4 // 1000, RATE * 20 // 1000))
    return out


def mix(a, b, offset):
    """Adds b into a copy of a, starting `offset` samples in."""
    out = a + [0.0] * max(0, offset + len(b) - len(a))
    for i, v in enumerate(b):
        out[offset + i] += v
    return out


def scale(samples, peak_dbfs):
    """Normalises to a peak of `peak_dbfs` (negative: below full scale)."""
    peak = max(abs(v) for v in samples)
    target = 10 ** (peak_dbfs / 20)
    return [v * target / peak for v in samples]


def write(path, samples):
    frames = bytearray()
    for v in samples:
        s = max(-32767, min(32767, round(v * 32767)))
        frames += s.to_bytes(2, "little", signed=True)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))


def scan_good():
    return scale(beep(1800, 100, 5, 40, [(1, 1.0), (2, 0.15)]), -6.0)


def scan_bad():
    # Odd harmonics with 1/k amplitudes: a square wave, cut at 5 kHz to
    # stay clear of aliasing at 22,050 Hz.
    square = [(k, 1.0 / k) for k in range(1, 16, 2) if 330 * k <= 5000]
    burst = beep(330, 110, 6, 15, square)
    return scale(burst + silence(70) + burst + silence(10), -6.0)


def confirm():
    first = chime_note(784.0, 390, 0.35)
    second = chime_note(1046.5, 390, 0.35)
    return scale(mix(first, second, RATE * 130 // 1000), -9.0)


SOUNDS = {
    "scan-good.wav": scan_good,
    "scan-bad.wav": scan_bad,
    "confirm.wav": confirm,
}


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out_dir, exist_ok=True)
    for name, make in SOUNDS.items():
        path = os.path.join(out_dir, name)
        samples = make()
        write(path, samples)
        print(f"{name}: {len(samples) * 1000 // RATE} ms, {os.path.getsize(path):,} bytes")


if __name__ == "__main__":
    main()

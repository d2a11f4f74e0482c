"""Small, valid binary files for simulated content: images, audio and other blobs.

Each file is deterministic for a seed (the same call gives the same bytes) and tiny (a few hundred
bytes): a 16x16 PNG/GIF/BMP whose colours follow the seed, a quarter-second WAV tone, a one-page
PDF, or seeded bytes for other types. `media_for(mime, seed)` returns the bytes and the MIME type
actually written (an image or audio type this module cannot write falls back to PNG / WAV, and
says so).
"""

from __future__ import annotations

import base64
import io
import math
import random
import struct
import wave
import zlib
from dataclasses import dataclass

SIDE = 16
SAMPLE_RATE = 8000
SECONDS = 0.25
# A valid 8x8 baseline JPEG (made with Pillow); JPEG encoding is not worth writing by hand here.
_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4UG1RV19iZ2hnPk1x"
    "eXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2P/wAAR"
    "CAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEG"
    "E1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWG"
    "h4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEB"
    "AQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYk"
    "NOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0"
    "tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCjRRRXnn0R/9k=")


@dataclass(frozen=True)
class Media:
    data: bytes
    mime_type: str

    @property
    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")


def _colours(seed: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    rng = random.Random(seed)
    return tuple(rng.randrange(256) for _ in range(3)), tuple(rng.randrange(256) for _ in range(3))  # type: ignore[return-value]


def _pixels(seed: int) -> list[list[tuple[int, int, int]]]:
    """A two-colour diagonal pattern: different seeds give visibly different pictures."""
    a, b = _colours(seed)
    return [[a if (x + y) % 8 < 4 else b for x in range(SIDE)] for y in range(SIDE)]


def png(seed: int = 0) -> bytes:
    rows = b"".join(b"\x00" + bytes(c for px in row for c in px) for row in _pixels(seed))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", SIDE, SIDE, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def bmp(seed: int = 0) -> bytes:
    row_bytes = SIDE * 3  # 48: already a multiple of 4
    pixels = b"".join(bytes(c for px in row for c in reversed(px)) for row in reversed(_pixels(seed)))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, SIDE, SIDE, 1, 24, 0, row_bytes * SIDE, 2835, 2835, 0, 0)
    return header + info + pixels


def gif(seed: int = 0) -> bytes:
    a, b = _colours(seed)
    indices = bytes(0 if (x + y) % 8 < 4 else 1 for y in range(SIDE) for x in range(SIDE))
    # LZW with a 2-bit minimum code size, emitting a clear code every few symbols so that codes
    # stay 3 bits wide (valid, if not the smallest possible encoding).
    clear, end, codes, bits, n = 4, 5, [], 0, 0
    for i, index in enumerate(indices):
        if i % 2 == 0:
            codes.append(clear)
        codes.append(index)
    codes.append(end)
    stream = bytearray()
    for code in codes:
        bits |= code << n
        n += 3
        while n >= 8:
            stream.append(bits & 0xFF)
            bits >>= 8
            n -= 8
    if n:
        stream.append(bits & 0xFF)
    blocks = b"".join(bytes([len(stream[i:i + 255])]) + bytes(stream[i:i + 255]) for i in range(0, len(stream), 255))
    return (b"GIF89a" + struct.pack("<HHBBB", SIDE, SIDE, 0x81, 0, 0) + bytes(a) + bytes(b) + b"\x00" * 6
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, SIDE, SIDE, 0) + b"\x02" + blocks + b"\x00\x3b")


def wav(seed: int = 0) -> bytes:
    """A quarter-second 16-bit mono tone whose pitch follows the seed."""
    frequency = 220 + random.Random(seed).randrange(660)
    frames = int(SAMPLE_RATE * SECONDS)
    samples = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE)))
                       for i in range(frames))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples)
    return out.getvalue()


def pdf(seed: int = 0, text: str = "Simulated document") -> bytes:
    """A one-page PDF with a line of text (cross-reference offsets computed, so readers accept it)."""
    safe = "".join(c for c in text if 32 <= ord(c) < 127 and c not in "()\\")[:80]
    stream = f"BT /F1 12 Tf 20 100 Td ({safe} {seed}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_WRITERS = {"image/png": png, "image/gif": gif, "image/bmp": bmp, "audio/wav": wav, "audio/x-wav": wav,
            "audio/wave": wav, "audio/vnd.wave": wav, "application/pdf": pdf}


def media_for(mime_type: str | None, seed: int = 0) -> Media:
    """A small valid file of `mime_type` (see the module doc for the fallbacks)."""
    base = (mime_type or "application/octet-stream").split(";")[0].strip().lower()
    if base in _WRITERS:
        return Media(_WRITERS[base](seed), base)
    if base in ("image/jpeg", "image/jpg"):
        return Media(_JPEG, "image/jpeg")
    if base.startswith("image/"):
        return Media(png(seed), "image/png")
    if base.startswith("audio/"):
        return Media(wav(seed), "audio/wav")
    return Media(random.Random(seed).randbytes(64), base)

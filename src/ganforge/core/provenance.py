"""Provenance: every file ganforge generates says, in its own format's metadata, that a GAN made it.

The record (JSON) names the generator (ganforge and its version), the checkpoint (file name and sha256)
or the run and step for grids drawn during training, the seed(s), the UTC time, and a plain
``"generated_by_gan": true``. Where it goes:

- PNG: an iTXt chunk ``ganforge:provenance`` (the JSON) and an XMP packet (iTXt ``XML:com.adobe.xmp``)
  whose ``Iptc4xmpExt:DigitalSourceType`` is IPTC's ``trainedAlgorithmicMedia``, the term other tools
  read to label AI-generated media;
- JPEG: a COM segment (the JSON) and the same XMP packet in an APP1 segment;
- WAV: a LIST/INFO chunk, ISFT (software) and ICMT (comment: the JSON);
- MIDI: a text meta event (the JSON) at the start of the first track;
- GIF: a comment extension (the JSON) before the trailer;
- MP4: the container's ``comment`` tag, set by ffmpeg when the file is encoded (``ffmpeg_args``);
- anything else (CSV, TXT, JSONL, NPZ, Parquet, ...): a sidecar ``<file>.provenance.json``, so the file
  itself stays exactly what other tools expect.

``embed`` adds the record to a file's bytes before they are written; ``read`` gets it back from a file.
All byte-level, with the standard library only; ``read`` never executes anything it reads.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import struct
import zlib
from typing import Any

from ..version import __version__

KEY = "ganforge:provenance"
SIDECAR = ".provenance.json"
AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
EMBEDDED = (".png", ".jpg", ".jpeg", ".wav", ".mid", ".midi", ".gif", ".mp4")


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def record(origin: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """The record for files written now: ``origin`` (checkpoint, sha256, run, step) plus ``fields`` (seed ...)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    rec = {"generated_by_gan": True, "generator": "ganforge", "version": __version__,
           "created_utc": now.isoformat().replace("+00:00", "Z")}
    rec.update({k: v for k, v in (origin or {}).items() if v is not None})
    rec.update({k: v for k, v in fields.items() if v is not None})
    return rec


def _json(rec: dict[str, Any]) -> str:
    return json.dumps(rec, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def xmp_packet(rec: dict[str, Any]) -> str:
    tool = f"{rec.get('generator', 'ganforge')} {rec.get('version', '')}".strip()
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
            f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" Iptc4xmpExt:DigitalSourceType="{AI_SOURCE}" '
            f'xmp:CreatorTool="{tool}" xmp:CreateDate="{rec.get("created_utc", "")}"/>'
            '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>')


# -- PNG ---------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _itxt(keyword: str, text: str) -> bytes:
    return _png_chunk(b"iTXt", keyword.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8"))


def _png_chunks(data: bytes):
    i = 8
    while i + 8 <= len(data):
        n, kind = struct.unpack(">I", data[i:i + 4])[0], data[i + 4:i + 8]
        yield kind, data[i + 8:i + 8 + n], i + 12 + n
        i += 12 + n


def _png_embed(data: bytes, rec: dict) -> bytes:
    end_of_ihdr = next(end for kind, _, end in _png_chunks(data))
    extra = _itxt(KEY, _json(rec)) + _itxt("XML:com.adobe.xmp", xmp_packet(rec))
    return data[:end_of_ihdr] + extra + data[end_of_ihdr:]


def _png_read(data: bytes) -> str | None:
    for kind, body, _ in _png_chunks(data):
        if kind in (b"iTXt", b"tEXt") and body.startswith(KEY.encode() + b"\0"):
            rest = body[len(KEY) + 1:]
            if kind == b"tEXt":
                return rest.decode("latin-1")
            flag, rest = rest[0], rest[2:]                      # compression flag and method
            rest = rest.split(b"\0", 2)[2]                      # language tag, translated keyword
            return (zlib.decompress(rest) if flag else rest).decode("utf-8")
    return None


# -- JPEG --------------------------------------------------------------------------------------------
def _jpeg_segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _jpeg_embed(data: bytes, rec: dict) -> bytes:
    xmp = _jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp_packet(rec).encode("utf-8"))
    com = _jpeg_segment(0xFE, (KEY + "\0" + _json(rec)).encode("utf-8"))
    return data[:2] + xmp + com + data[2:]


def _jpeg_read(data: bytes) -> str | None:
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, n = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        body = data[i + 4:i + 2 + n]
        if marker == 0xFE and body.startswith(KEY.encode() + b"\0"):
            return body[len(KEY) + 1:].decode("utf-8")
        if marker == 0xDA:                                      # start of scan: no more headers
            break
        i += 2 + n
    return None


# -- WAV ---------------------------------------------------------------------------------------------
def _info(kind: bytes, text: str) -> bytes:
    body = text.encode("utf-8") + b"\0"
    return kind + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def _wav_embed(data: bytes, rec: dict) -> bytes:
    info = b"INFO" + _info(b"ISFT", f"ganforge {rec.get('version', '')}") + _info(b"ICMT", _json(rec))
    body = data[12:] + b"LIST" + struct.pack("<I", len(info)) + info
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def _wav_read(data: bytes) -> str | None:
    i = 12
    while i + 8 <= len(data):
        kind, n = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        if kind == b"LIST" and data[i + 8:i + 12] == b"INFO":
            j, end = i + 12, i + 8 + n
            while j + 8 <= end:
                sub, m = data[j:j + 4], struct.unpack("<I", data[j + 4:j + 8])[0]
                text = data[j + 8:j + 8 + m].rstrip(b"\0").decode("utf-8", "replace")
                if sub == b"ICMT" and text.startswith("{") and '"generated_by_gan"' in text:
                    return text
                j += 8 + m + (m % 2)
        i += 8 + n + (n % 2)
    return None


# -- MIDI --------------------------------------------------------------------------------------------
def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def _midi_embed(data: bytes, rec: dict) -> bytes:
    i = 8 + struct.unpack(">I", data[4:8])[0]                   # after MThd
    if data[i:i + 4] != b"MTrk":
        raise ValueError("no MIDI track")
    text = (KEY + " " + _json(rec)).encode("utf-8")
    event = b"\0\xff\x01" + _vlq(len(text)) + text
    n = struct.unpack(">I", data[i + 4:i + 8])[0]
    return data[:i] + b"MTrk" + struct.pack(">I", n + len(event)) + event + data[i + 8:]


def _midi_read(data: bytes) -> str | None:
    i = 8 + struct.unpack(">I", data[4:8])[0]
    if data[i:i + 4] != b"MTrk" or data[i + 8:i + 11] != b"\0\xff\x01":
        return None
    j, n = i + 11, 0
    while True:                                                 # the text's length, a variable-length quantity
        b = data[j]
        n, j = (n << 7) | (b & 0x7F), j + 1
        if not b & 0x80:
            break
    text = data[j:j + n].decode("utf-8", "replace")
    return text[len(KEY) + 1:] if text.startswith(KEY + " ") else None


# -- GIF ---------------------------------------------------------------------------------------------
def _gif_embed(data: bytes, rec: dict) -> bytes:
    text = (KEY + " " + _json(rec)).encode("utf-8")
    blocks = b"".join(bytes([len(text[k:k + 255])]) + text[k:k + 255] for k in range(0, len(text), 255))
    if not data.endswith(b"\x3b"):
        raise ValueError("no GIF trailer")
    return data[:-1] + b"\x21\xfe" + blocks + b"\0" + data[-1:]


def _sub_blocks(data: bytes, i: int) -> tuple[bytes, int]:
    out = bytearray()
    while data[i]:
        out += data[i + 1:i + 1 + data[i]]
        i += 1 + data[i]
    return bytes(out), i + 1


def _gif_read(data: bytes) -> str | None:
    packed, i = data[10], 13
    if packed & 0x80:
        i += 3 * 2 ** ((packed & 7) + 1)                        # global colour table
    while i < len(data):
        if data[i] == 0x21:                                     # extension: label, then sub-blocks
            label = data[i + 1]
            body, i = _sub_blocks(data, i + 2)
            if label == 0xFE and body.startswith(KEY.encode() + b" "):
                return body[len(KEY) + 1:].decode("utf-8")
        elif data[i] == 0x2C:                                   # image: descriptor, local table, LZW data
            flags, i = data[i + 9], i + 10
            if flags & 0x80:
                i += 3 * 2 ** ((flags & 7) + 1)
            _, i = _sub_blocks(data, i + 1)
        else:                                                   # trailer (or garbage): stop
            break
    return None


# -- MP4 ---------------------------------------------------------------------------------------------
def ffmpeg_args(rec: dict | None) -> list[str]:
    """Output options that put the record in an MP4's ``comment`` tag as ffmpeg encodes it."""
    return [] if not rec else ["-metadata", f"comment={KEY} {_json(rec)}"]


def _mp4_read(path: str) -> str | None:
    import subprocess
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", path, "-f", "ffmetadata", "-"],
                          capture_output=True, timeout=60)
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("comment=" + KEY + " "):
            value = line[len("comment=" + KEY + " "):]
            for esc in ("\\=", "\\;", "\\#"):
                value = value.replace(esc, esc[1])
            return value.replace("\\\\", "\\")
    return None


_EMBED = {".png": _png_embed, ".jpg": _jpeg_embed, ".jpeg": _jpeg_embed, ".wav": _wav_embed,
          ".mid": _midi_embed, ".midi": _midi_embed, ".gif": _gif_embed}
_READ = {".png": _png_read, ".jpg": _jpeg_read, ".jpeg": _jpeg_read, ".wav": _wav_read,
         ".mid": _midi_read, ".midi": _midi_read, ".gif": _gif_read}


def embed(path: str, data: bytes, rec: dict | None) -> bytes:
    """``data`` (the bytes of the file ``path`` will hold) with the record inside, for the formats that carry
    one; other formats' bytes come back unchanged (they get a sidecar: ``needs_sidecar``)."""
    fn = _EMBED.get(os.path.splitext(path)[1].lower())
    return data if rec is None or fn is None else fn(data, rec)


def needs_sidecar(path: str) -> bool:
    return os.path.splitext(path)[1].lower() not in EMBEDDED


def sidecar_bytes(rec: dict) -> bytes:
    return (json.dumps(rec, indent=1, sort_keys=True) + "\n").encode()


def read(path: str) -> dict | None:
    """The record in ``path`` (or its sidecar), or None when it has none. Raises OSError for unreadable files."""
    ext = os.path.splitext(path)[1].lower()
    text = None
    if ext == ".mp4":
        text = _mp4_read(path)
    elif ext in _READ:
        with open(path, "rb") as f:
            data = f.read()
        try:
            text = _READ[ext](data)
        except (IndexError, struct.error, UnicodeDecodeError, zlib.error):
            text = None                                         # a damaged or foreign file: no record found
    if text is None and os.path.exists(path + SIDECAR):
        with open(path + SIDECAR, encoding="utf-8") as f:
            text = f.read()
    if text is None:
        return None
    try:
        rec = json.loads(text)
    except ValueError:
        return None
    return rec if isinstance(rec, dict) and rec.get("generated_by_gan") is True else None


__all__ = ["record", "embed", "read", "needs_sidecar", "sidecar_bytes", "ffmpeg_args", "sha256_of", "xmp_packet",
           "KEY", "SIDECAR", "AI_SOURCE"]

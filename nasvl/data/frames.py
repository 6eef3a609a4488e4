"""The one way nasvl reads a frame: check the file's header, then decode.

OpenCV has no header-only API, and `cv2.imread` decodes whatever it is given: a 150 kB JPEG that
claims 30000×30000 pixels becomes a 2.7 GB array, and a truncated JPEG decodes "successfully"
with grey rows where the data ran out. So every frame is read here:

1. the file size is checked against `FRAME_BYTES`;
2. its format comes from the magic bytes (JPEG, PNG, BMP), never from the suffix;
3. width and height come from the header (JPEG SOF marker, PNG IHDR, BMP DIB header) and
   are checked against `FRAME_PIXELS` before anything is decoded;
4. the file must end like a whole image (JPEG EOI marker, PNG IEND chunk, BMP's declared size);
5. only then does `cv2.imdecode` run, on the bytes already read (no second open).

`probe_frame` does steps 1–4 with a few small reads, for checks that skip decoding.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from nasvl.config.limits import FRAME_BYTES, FRAME_PIXELS
from nasvl.errors import DataError

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the image size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field
_MAX_SEGMENTS = 4096  # real JPEGs have a dozen segments before SOF; more is a crafted file
_TAIL = 1024  # how far from the end an end marker may sit (some writers pad after it)


@dataclass(frozen=True)
class FrameInfo:
    format: str  # "jpeg", "png" or "bmp"
    width: int
    height: int


def _fail(path: Path, rule: str) -> DataError:
    return DataError(f"bad frame: {rule}", file=str(path))


def _read_exact(f: BinaryIO, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise _fail(path, f"truncated {what}")
    return data


def _jpeg_size(f: BinaryIO, path: Path) -> tuple[int, int]:
    f.seek(2)
    for _ in range(_MAX_SEGMENTS):
        byte = _read_exact(f, 1, path, "JPEG header")
        if byte != b"\xff":
            raise _fail(path, "corrupt JPEG header (expected a marker)")
        marker = byte[0]
        while marker == 0xFF:  # fill bytes before a marker are legal
            marker = _read_exact(f, 1, path, "JPEG header")[0]
        if marker in _STANDALONE:
            continue
        if marker in (0xD8, 0xD9, 0xDA):
            raise _fail(path, "JPEG has no frame header (SOF) before its image data")
        (length,) = struct.unpack(">H", _read_exact(f, 2, path, "JPEG header"))
        if length < 2:
            raise _fail(path, "corrupt JPEG header (segment length below 2)")
        if marker in _SOF:
            _, height, width = struct.unpack(">BHH", _read_exact(f, 5, path, "JPEG frame header"))
            return width, height
        f.seek(length - 2, io.SEEK_CUR)
    raise _fail(path, f"JPEG has over {_MAX_SEGMENTS} segments before its frame header")


def _tail(f: BinaryIO, size: int) -> bytes:
    f.seek(max(0, size - _TAIL))
    return f.read()


def _probe(f: BinaryIO, size: int, path: Path) -> FrameInfo:
    if size == 0:
        raise _fail(path, "empty file (0 bytes)")
    if size > FRAME_BYTES.value:
        raise _fail(path, FRAME_BYTES.message(size))
    head = f.read(32)
    if head.startswith(b"\xff\xd8\xff"):
        width, height = _jpeg_size(f, path)
        # Inside entropy-coded data 0xFF is always stuffed, so FFD9 near the end is the real EOI.
        if b"\xff\xd9" not in _tail(f, size):
            raise _fail(path, "truncated JPEG (no end-of-image marker)")
        info = FrameInfo("jpeg", width, height)
    elif head.startswith(_PNG_MAGIC):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise _fail(path, "corrupt PNG header (no IHDR chunk)")
        width, height = struct.unpack(">II", head[16:24])
        if b"IEND" not in _tail(f, size):
            raise _fail(path, "truncated PNG (no IEND chunk)")
        info = FrameInfo("png", width, height)
    elif head.startswith(b"BM") and len(head) >= 26:
        declared, dib = struct.unpack("<I", head[2:6])[0], struct.unpack("<I", head[14:18])[0]
        if dib == 12:
            width, height = struct.unpack("<HH", head[18:22])
        else:
            width, height = struct.unpack("<ii", head[18:26])
        width, height = abs(width), abs(height)  # a negative height means rows stored top-down
        if declared > size:
            raise _fail(path, f"truncated BMP ({size} bytes, header declares {declared})")
        info = FrameInfo("bmp", width, height)
    else:
        raise _fail(path, f"not a JPEG, PNG or BMP image (starts with {head[:8]!r})")
    if info.width == 0 or info.height == 0:
        raise _fail(path, f"{info.format} header declares a {info.width}×{info.height} image")
    pixels = info.width * info.height
    if pixels > FRAME_PIXELS.value:
        raise _fail(path, f"{info.width}×{info.height}: {FRAME_PIXELS.message(pixels)}")
    return info


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise DataError("frame not found", file=str(path)) from None
    except OSError as exc:
        raise DataError(f"cannot read frame ({exc.strerror})", file=str(path)) from None


def probe_frame(path: str | Path) -> FrameInfo:
    """Format and size of a frame from its header and trailer, without decoding; DataError if bad."""
    path = Path(path)
    size = _size(path)
    try:
        with path.open("rb") as f:
            return _probe(f, size, path)
    except OSError as exc:
        raise DataError(f"cannot read frame ({exc.strerror})", file=str(path)) from None


def read_frame(path: str | Path) -> np.ndarray:
    """Frame at `path` as BGR uint8 (what cv2 and the pysot-style crops expect); DataError if bad."""
    path = Path(path)
    size = _size(path)
    if size > FRAME_BYTES.value:  # refuse before reading the bytes in
        raise _fail(path, FRAME_BYTES.message(size))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read frame ({exc.strerror})", file=str(path)) from None
    info = _probe(io.BytesIO(data), len(data), path)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise _fail(path, f"cannot decode this {info.format} image (corrupt data)")
    if image.shape[:2] != (info.height, info.width):
        raise _fail(path, f"decoded {image.shape[1]}×{image.shape[0]}, header says {info.width}×{info.height}")
    return image

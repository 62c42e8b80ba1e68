"""Reading text files: encoding detection and decoding.

Detection order: a byte order mark, then strict UTF-8, then UTF-8 with
single lines in cp1252 (a file that mixes both), then charset-normalizer,
then cp1252. The declared encoding, when set, wins.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

from charset_normalizer import from_bytes

from accord.errors import SourceError
from accord.logs import get_logger

logger = get_logger(__name__)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# charset-normalizer looks at samples of the data; a prefix this long keeps
# detection fast on large files while covering many rows.
_DETECTION_BYTES = 1 << 20
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_CONTROL_RATIO = 0.01


@dataclass(frozen=True)
class DecodedText:
    """The text of a file and the encoding it was decoded with."""

    text: str
    encoding: str


def read_bytes(path: Path, source: str) -> bytes:
    """Return the content of ``path``, raising SourceError when it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError(
            source, f"file not found: {path}. Check 'path' in the source settings."
        ) from None
    except IsADirectoryError:
        raise SourceError(
            source, f"{path} is a folder, not a file. Set 'path' to the file to read."
        ) from None
    except OSError as exc:
        raise SourceError(source, f"cannot read {path}: {exc.strerror}.") from exc


def decode_text(data: bytes, declared: str | None, path: Path, source: str) -> DecodedText:
    """Decode file content with the declared encoding or a detected one.

    Args:
        data: The file content.
        declared: The encoding set in the source settings, or None to detect it.
        path: The file, named in error messages.
        source: The source name, named in error messages.

    Returns:
        The text without a byte order mark, and the encoding used.

    Raises:
        SourceError: When the declared encoding is unknown or does not fit
            the data, or the file is not text.
    """
    if declared is not None:
        decoded = _decode_declared(data, declared, path, source)
    else:
        decoded = _decode_detected(data, path, source)
    _reject_binary(decoded.text, path, source)
    return decoded


def _decode_declared(data: bytes, declared: str, path: Path, source: str) -> DecodedText:
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        raise SourceError(
            source,
            f"unknown encoding '{declared}' for {path}. Use a Python codec name such as "
            "utf-8, utf-16, latin-1 or cp1252, or remove 'encoding' to detect it.",
        ) from None
    if name == "utf-8":
        name = "utf-8-sig"
    try:
        text = data.decode(name)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(
            source,
            f"{path} is not valid {declared}: line {line} (byte offset {exc.start}) cannot be "
            "decoded. Set 'encoding' to the file's encoding, or remove it to detect the "
            "encoding.",
        ) from None
    return DecodedText(text.removeprefix("\ufeff"), name)


def _decode_detected(data: bytes, path: Path, source: str) -> DecodedText:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return _decode_declared(data, name, path, source)
    if b"\x00" in data[:_DETECTION_BYTES]:
        wide = _detect_wide_encoding(data)
        if wide is None:
            raise SourceError(source, _binary_message(path))
        return _decode_declared(data, wide, path, source)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    mixed = _decode_mixed(data, path, source)
    if mixed is not None:
        return mixed
    candidates = [_detect_single_byte_encoding(data), "cp1252", "latin-1"]
    for name in [candidate for candidate in candidates if candidate is not None]:
        try:
            return DecodedText(data.decode(name), name)
        except UnicodeDecodeError:
            continue
    raise SourceError(source, _binary_message(path))  # latin-1 decodes every byte


def _decode_mixed(data: bytes, path: Path, source: str) -> DecodedText | None:
    """Decode a UTF-8 file in which some lines are in cp1252, or return None.

    A file appended to by several tools can end up this way. Decoding the
    whole file as cp1252 would garble every UTF-8 line ("Zoë" becomes
    "ZoÃ«"), so each line is decoded on its own: as UTF-8 when it is valid,
    else as cp1252 (latin-1 for the five bytes cp1252 leaves undefined). The
    file counts as mixed only when some line outside ASCII is valid UTF-8. A
    newline byte never occurs inside a UTF-8 or cp1252 character, so
    splitting on it is safe.
    """
    lines = data.split(b"\n")
    fallback: list[int] = []
    utf8_seen = False
    decoded: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            fallback.append(number)
            decoded.append(_decode_single_byte(line))
            continue
        utf8_seen = utf8_seen or not line.isascii()
        decoded.append(text)
    if not utf8_seen:
        return None
    listed = ", ".join(str(number) for number in fallback[:10])
    more = f" and {len(fallback) - 10} more" if len(fallback) > 10 else ""
    logger.warning(
        "source %s: %s is UTF-8 except lines %s%s, which were read as cp1252; set 'encoding' "
        "on the source if those lines are in another encoding",
        source,
        path,
        listed,
        more,
    )
    return DecodedText("\n".join(decoded), "utf-8 with cp1252 lines")


def _decode_single_byte(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _detect_wide_encoding(data: bytes) -> str | None:
    best = from_bytes(data[:_DETECTION_BYTES]).best()
    if best is not None and best.encoding.startswith(("utf_16", "utf_32")):
        return best.encoding
    return None


def _detect_single_byte_encoding(data: bytes) -> str | None:
    """Return charset-normalizer's pick for non-UTF-8 data, preferring cp1252 on a tie.

    charset-normalizer 3 often ranks cp1250 first for Western European text
    ("São" and "Tromsø" decode wrongly with it) and rates cp1252 the same,
    so cp1252 wins whenever it is among the candidates with the lowest chaos.
    """
    matches = from_bytes(data[:_DETECTION_BYTES])
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        if match.chaos <= best.chaos and (
            match.encoding == "cp1252" or "cp1252" in match.could_be_from_charset
        ):
            return "cp1252"
    logger.debug("detected encoding %s for non-UTF-8 data", best.encoding)
    return str(best.encoding)


def _reject_binary(text: str, path: Path, source: str) -> None:
    sample = text[:65536]
    if not sample:
        return
    controls = len(_CONTROL_CHARACTERS.findall(sample))
    if "\x00" in sample or controls > len(sample) * _BINARY_CONTROL_RATIO:
        raise SourceError(source, _binary_message(path))


def _binary_message(path: Path) -> str:
    return (
        f"{path} is not a text file: it contains binary data. Check that 'path' names "
        "the exported text file, or set 'encoding' if it is text in an unusual encoding."
    )

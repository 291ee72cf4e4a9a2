"""The jieba tokenizer that knows the lexicon's terms: built once per process, from a cached dictionary.

Building it from scratch costs about 1.5 s (jieba's 500k-word dictionary, then a suggested frequency for each of
the ~950 lexicon terms); loading the finished dictionary from our own cache costs one marshal load.  The cache is
keyed by jieba's version and dictionary and by the lexicon's terms, so an edited clusters.toml or an upgraded
jieba rebuilds it; it lives in a directory only this user can write (XZNEWS_CACHE_DIR, else
$XDG_CACHE_HOME/xznews, else ~/.cache/xznews), and anything unreadable or malformed there is rebuilt, never trusted.

jieba is imported here, on first use, so that commands which never classify do not pay for it.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import marshal
import os
import stat
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jieba

log = logging.getLogger(__name__)

_FORMAT = 1  # bump when the cached tuple changes shape


def cache_dir() -> Path:
    explicit = os.environ.get("XZNEWS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "xznews"


@cache
def tokenizer_for(words: tuple[str, ...]) -> tuple[jieba.Tokenizer, tuple[tuple[str, int], ...]]:
    """A tokenizer with `words` (sorted CJK lexicon terms) added, and the (word, frequency) pairs it added."""
    import jieba

    jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict…" lines are noise in our logs
    path = cache_dir() / f"jieba-{_key(jieba, words)}.marshal"
    tokenizer = jieba.Tokenizer()
    loaded = _read(path)
    if loaded is not None:
        tokenizer.FREQ, tokenizer.total, entries = loaded
        tokenizer.initialized = True
        log.debug("loaded lexicon tokenizer path=%s", path)
        return tokenizer, entries
    tokenizer.initialize()
    # Every frequency is suggested against jieba's own dictionary, before any lexicon word is added, so that
    # the result does not depend on the order of the words.
    entries = tuple((word, max(tokenizer.FREQ.get(word) or 0, _suggested(tokenizer, word))) for word in words)
    for word, freq in entries:
        tokenizer.add_word(word, freq)
    _write(path, (tokenizer.FREQ, tokenizer.total, entries))
    return tokenizer, entries


def _suggested(tokenizer: jieba.Tokenizer, word: str) -> int:
    # suggest_freq(tune=False) computes the frequency without changing the tokenizer.
    return int(tokenizer.suggest_freq(word, tune=False))


def _key(jieba: Any, words: Iterable[str]) -> str:
    digest = hashlib.sha256(f"{_FORMAT}\0{jieba.__version__}\0".encode())
    try:
        dictionary = Path(jieba.get_dict_file().name).stat()
        digest.update(f"{dictionary.st_size}\0{dictionary.st_mtime_ns}\0".encode())
    except (OSError, AttributeError):
        pass
    digest.update("\n".join(words).encode())
    return digest.hexdigest()[:20]


def _is_private_dir(path: Path) -> bool:
    info = path.stat()
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> tuple[dict[str, int], int, tuple[tuple[str, int], ...]] | None:
    try:
        if not _is_private_dir(path.parent):
            log.warning("tokenizer cache not used: %s is writable by others", path.parent)
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    gc.disable()  # half a million small objects: the collector would otherwise run dozens of times
    try:
        data = marshal.loads(raw)
    except (EOFError, ValueError, TypeError):
        data = None
    finally:
        gc.enable()
    if (
        isinstance(data, tuple)
        and len(data) == 3
        and isinstance(data[0], dict)
        and isinstance(data[1], int)
        and isinstance(data[2], tuple)
    ):
        return data[0], data[1], tuple((str(w), int(f)) for w, f in data[2])
    log.warning("tokenizer cache ignored: %s is malformed", path)
    return None


def _write(path: Path, data: tuple) -> None:
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _is_private_dir(path.parent):
            return
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jieba-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            marshal.dump(data, f)
        os.replace(tmp, path)  # readers see the old file or the whole new one
    except OSError as exc:
        log.info("tokenizer cache not written path=%s error=%s", path, exc)

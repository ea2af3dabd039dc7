"""Upstream raw files behind the benchmarks, and where they are read from.

A file is read from a local mirror (``--data-dir`` or ``CGBENCH_DATA_DIR``,
laid out like the mirror) or, failing that, downloaded once into a cache and
checked for size and checksum. Nothing is fetched at import time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cgbench.benchmarks.errors import DataError

DATA_DIR_ENV = "CGBENCH_DATA_DIR"
CACHE_DIR_ENV = "CGBENCH_CACHE_DIR"
HOME_ENV = "CGBENCH_HOME"
ALLOW_CHANGED_ENV = "CGBENCH_ALLOW_CHANGED_DATA"  # "1": use files whose sha256 differs from the pinned one
DIGESTS_FILE = "sha256-cache.json"


@dataclass(frozen=True)
class SourceFile:
    """One upstream file: where it lives in a mirror and upstream, and what it must be."""

    path: str  # relative to the data dir (mirror layout)
    repo: str
    commit: str
    upstream_path: str
    size: int
    sha256: str
    rows: int

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.upstream_path}"


_CG = ("JohnnyChanV/ConsistentGuard", "734a550b6e5c")
_RELEASE_FILES = {
    "simple_safety_tests": ("0_0_SimpleSafetyTests.json", 100),
    "openai_moderation": ("0_2_OpenAIModeration.json", 1680),
    "toxicchat": ("0_8_toxic_chat.json", 2853),
}
# (release folder, benchmark) -> (size, sha256)
_RELEASE_CHECKS = {
    ("bn", "simple_safety_tests"): (26031, "b7d8dc25fe759342a69acfc77e63d3a74952a5b260e58a40bf66dd502eeada50"),
    ("bn", "openai_moderation"): (2783157, "7bdb0cf9a5d4792e117a42bd2775fd3781e0945ed187a20c5d22ce14f1654644"),
    ("bn", "toxicchat"): (1644548, "6a13ada4a378f2e8f3954476273cd526fab318374b90194e73aa717e3bce51de"),
    ("eng", "simple_safety_tests"): (65975, "3f9133d398df2e48377597a1a7360d275ed4d573fb22f3e4e367ab55bb7382f7"),
    ("eng", "openai_moderation"): (2127889, "0f2c52eccbdfd216da9f762bbedcbe47137018a035a9fc17f00f9e2295ccd5f6"),
    ("eng", "toxicchat"): (2281486, "b34038850c56f570b3b09a036e4024d49a27874a0b260ade621804f89e2a1545"),
    ("fr", "simple_safety_tests"): (13672, "565ee6e3089ca28a60b6b9989eac86ca8203be2012de2795145c07e533559bb5"),
    ("fr", "openai_moderation"): (1377559, "4ed47d7393ec2029011d29216ef172b576be049a85e2ebf4c24f7e8530f67f34"),
    ("fr", "toxicchat"): (828828, "cf10b2c9dabda673b95bf7a5fac166d8f135366c41d0914dc86446b77053d799"),
    ("hi", "simple_safety_tests"): (25956, "0e28b122390a395d768b563a1c79565a8d231f325461e91def52520c777db528"),
    ("hi", "openai_moderation"): (2959982, "a8c99a756d51343ad285cd6a56aed495f944e84063468a28238c4fbb22413957"),
    ("hi", "toxicchat"): (1734942, "456253c3bb5b10bbe85495be489eb27ce4b23ed8f08aa2a92bce01f10905d4fc"),
    ("ja", "simple_safety_tests"): (14508, "763f069e47f7af9931d5d515a536aefff62c521fe2feac00768fcb2ce5d8cfc6"),
    ("ja", "openai_moderation"): (1568064, "37936d9f049ef8bc3654c0cf2ea70faef94c457b3ab80345c8ff92a6d8146ff3"),
    ("ja", "toxicchat"): (930248, "c934fb486e22a9d24e422005fdd6f608d64025130c89e52f6c0a53c1ab8783d6"),
    ("zh-CN", "simple_safety_tests"): (13157, "b8a0b20f65f23a1ab48ff25137b5b51a595ce10790b0c088757407101ef40e7f"),
    ("zh-CN", "openai_moderation"): (1132141, "f3f922d08de065de9b7b0ee7f6ace1dd54f764481e87440ce91f066ed3e24d3f"),
    ("zh-CN", "toxicchat"): (735003, "e3cca55fc11fe0053cf673cb3070193d020bc797c330f4eefaa573aee66d31c3"),
}


def release_file(folder: str, benchmark: str) -> SourceFile:
    """The ConsistentGuard release file of one benchmark in one language folder."""
    name, rows = _RELEASE_FILES[benchmark]
    size, sha = _RELEASE_CHECKS.get((folder, benchmark), (0, ""))
    return SourceFile(
        path=f"consistentguard/benchmark_{folder}/{name}",
        repo=_CG[0],
        commit=_CG[1],
        upstream_path=f"benchmark/benchmark_{folder}/{name}",
        size=size,
        sha256=sha,
        rows=rows,
    )


OPENAI_MODERATION_ORIGINAL = SourceFile(
    "openai_moderation/samples-1680.jsonl.gz",
    "openai/moderation-api-release",
    "f4ab51b5edd3",
    "data/samples-1680.jsonl.gz",
    477573,
    "ef3f7de86ee394fe337b0a566ba4b9c7db058f3caa8d6a4a0006138b663ab9a8",
    1680,
)
SIMPLE_SAFETY_TESTS_ORIGINAL = SourceFile(
    "simple_safety_tests/SimpleSafetyTests - test cases.csv",
    "bertiev/SimpleSafetyTests",
    "d7aee9a9422a",
    "SimpleSafetyTests - test cases.csv",
    12610,
    "6d95a1301e0d0f3a3c4cf5392f4afff11ad6e3066f95d23aaa138d44aedf986c",
    100,
)
TOXICCHAT_TEST_ORIGINAL = SourceFile(
    "toxicchat/toxic_chat_test.json",
    "dmg-illc/JUDGE-BENCH",
    "5a0bf500325c",
    "data/toxic_chat/toxic_chat_test.json",
    1890649,
    "d1a09dbb772c83cbddd7466c3b68f7ec1bd1b4025238e4340799ed11422f2281",
    2853,
)
TOXICCHAT_TRAIN = SourceFile(
    "toxicchat/toxic_chat_train.json",
    "dmg-illc/JUDGE-BENCH",
    "5a0bf500325c",
    "data/toxic_chat/toxic_chat_train.json",
    1879301,
    "e63c72db381bdd808e0b5e744ede6192f225dafdde5b484049f3f766947990ff",
    2801,
)
_GR = ("yueliu1999/GuardReasoner", "bb7e686dc053")
GUARDREASONER_TRAIN = {
    "aegis": SourceFile(
        "guardreasoner/0_1_AegisSafetyTest.json",
        *_GR,
        "data/benchmark/0_1_AegisSafetyTest.json",
        248820,
        "29b77db427a683103aa58b633b9118314debd96be2659cbac9234f2352e85bd1",
        359,
    ),
    "harmbench_prompt": SourceFile(
        "guardreasoner/0_3_harmbench_prompt.json",
        *_GR,
        "data/benchmark/0_3_harmbench_prompt.json",
        169168,
        "754c22fb0a7c1e28844a09b22c3f4ba0c7fde5add2f6940237766c3f5c18b65c",
        239,
    ),
    "beavertails": SourceFile(
        "guardreasoner/0_A_beaver_tails.json",
        *_GR,
        "data/benchmark/0_A_beaver_tails.json",
        3321867,
        "34f1e315cfeb348c63b6082dea93db67a8fd67e4fded8ccd2087cabe0a81169b",
        3021,
    ),
    "safe_rlhf": SourceFile(
        "guardreasoner/0_9_safe_rlhf.json",
        *_GR,
        "data/benchmark/0_9_safe_rlhf.json",
        2152874,
        "c57b79bbe3c38f6b48a8d776bd86c3b0c0ced7072ad4e19859c17cb5880ea47e",
        2000,
    ),
}


def data_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local mirror in use: the explicit argument, else ``$CGBENCH_DATA_DIR``, else None."""
    chosen = explicit or os.environ.get(DATA_DIR_ENV)
    if not chosen:
        return None
    root = Path(chosen).expanduser()
    if not root.is_dir():
        raise DataError(f"data dir {root} does not exist (given by --data-dir or ${DATA_DIR_ENV})")
    return root


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cgbench"
    return Path(os.environ.get(CACHE_DIR_ENV, default))


def user_dir() -> Path:
    """Where languages added with ``cgbench data add-language`` live (the mirror is read-only).

    ``$CGBENCH_HOME``, else ``$XDG_DATA_HOME/cgbench``, else ``~/.local/share/cgbench``; laid out like a mirror.
    """
    default = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "cgbench"
    return Path(os.environ.get(HOME_ENV, default)).expanduser()


def sha256_of(path: Path) -> str:
    """The file's sha256, remembered in the cache dir by (path, size, mtime, inode, ctime) so an unchanged file
    is read once. ``touch -r`` can restore an edited file's mtime but not its ctime, and a file swapped in by a
    rename has a new inode. Inside :func:`fresh_digests` every file is hashed from its bytes once regardless."""
    stat = path.stat()
    key, stamp = str(path.resolve()), [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
    digests = _digests()
    known = digests.get(key)
    trusted = _fresh is None or key in _fresh
    if trusted and isinstance(known, dict) and known.get("stamp") == stamp:
        return known["sha256"]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if _fresh is not None:
        _fresh.add(key)
    digests[key] = {"stamp": stamp, "sha256": digest.hexdigest()}
    _save_digests(digests)
    return digest.hexdigest()


_fresh: set[str] | None = None  # inside fresh_digests(): the files already hashed from their bytes


@contextlib.contextmanager
def fresh_digests() -> Iterator[None]:
    """Within this block, the first digest of each file is computed from its bytes, not taken from the cache
    (``cgbench run`` checks every file it reads this way once per run)."""
    global _fresh
    outer = _fresh
    _fresh = set() if outer is None else outer
    try:
        yield
    finally:
        _fresh = outer


def _digests() -> dict:
    try:
        data = json.loads((cache_dir() / DIGESTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: digests are computed again
    return data if isinstance(data, dict) else {}


def _save_digests(digests: dict) -> None:
    path = cache_dir() / DIGESTS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(digests, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass  # a read-only cache only costs speed


_WARNED: set[Path] = set()


def changed_data_allowed() -> bool:
    return os.environ.get(ALLOW_CHANGED_ENV, "") not in ("", "0")


def locate(source: SourceFile, data_dir_: str | os.PathLike | None = None) -> Path:
    """The local path of ``source``: in the mirror if one is set, else in the cache (downloading it); the
    files of a language added with ``cgbench data add-language`` (unpinned) may also come from the user dir."""
    mirror = data_dir(data_dir_)
    added = user_dir() / source.path
    if not source.sha256 and added.parent.is_dir() and not ((mirror or cache_dir()) / source.path).parent.is_dir():
        if not added.is_file():
            raise DataError(f"{added}: file missing from the added language folder (add it again with --force)")
        check_added_file(added)
        return added
    if mirror is not None:
        path = mirror / source.path
        if not path.is_file():
            raise DataError(f"{path}: file missing from the data dir {mirror} (expected the mirror layout)")
        check_file(source, path)
        return path
    cached = cache_dir() / source.path
    if not cached.is_file():
        download(source, cached)
    else:
        check_file(source, cached)
    return cached


def check_added_file(path: Path) -> None:
    """Refuse a file of an added language whose sha256 differs from the one its folder's ``manifest.json``
    records (edited since ``cgbench data add-language`` wrote it); ``--allow-changed-data`` uses it with a warning."""
    manifest = path.parent / "manifest.json"
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))["files"][path.name]["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{manifest}: missing, unreadable or without files[{path.name!r}].sha256 ({type(exc).__name__}); "
            "add the language again with --force"
        ) from None
    actual = sha256_of(path)
    if actual != recorded:
        problem = f"sha256 {actual}, but {manifest.name} records {recorded} (edited since it was added)"
        _changed(path, problem, changed_data_allowed(), "add the language again with --force, or pass")


def download(source: SourceFile, dest: Path) -> None:
    """Download ``source`` to ``dest`` atomically, checking size and checksum."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(source.url, timeout=60) as response, partial.open("wb") as out:
            while block := response.read(1 << 20):
                out.write(block)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"cannot download {source.url} ({exc}). Offline? Point cgbench at a local mirror "
            f"with --data-dir DIR or ${DATA_DIR_ENV}=DIR (same layout as the upstream files), "
            f"or run `cgbench data fetch` once on a machine with internet."
        ) from exc
    check_file(source, partial, allow_changed=False)
    partial.replace(dest)


def check_file(source: SourceFile, path: Path, *, allow_changed: bool | None = None) -> None:
    """Refuse a file whose size or sha256 differs from the pinned upstream file.

    With ``$CGBENCH_ALLOW_CHANGED_DATA=1`` (``--allow-changed-data``) a differing file is used with a warning;
    the run then records that its data was not the pinned data.
    """
    size = path.stat().st_size
    if source.size and size != source.size:
        problem = f"size {size} bytes, expected {source.size} (truncated or modified file)"
    elif source.sha256 and (actual := sha256_of(path)) != source.sha256:
        problem = f"sha256 {actual}, expected {source.sha256} (modified file; pinned: {source.url})"
    else:
        return
    allowed = changed_data_allowed() if allow_changed is None else allow_changed
    _changed(path, problem, allowed, "to use a deliberately changed mirror, pass")


def _changed(path: Path, problem: str, allowed: bool, remedy: str) -> None:
    """Warn once about a changed file that is ``allowed``, else refuse it."""
    if not allowed:
        raise DataError(f"{path}: {problem}; {remedy} --allow-changed-data")
    if path not in _WARNED:
        _WARNED.add(path)
        print(f"warning: {path}: {problem}; used anyway (--allow-changed-data)", file=sys.stderr)

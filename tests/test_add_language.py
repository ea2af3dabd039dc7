"""`cgbench data add-language` on real data: import a release-style folder, translate through the cache,
refuse broken splits with a clear error and nothing final, resume, and register the language everywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cgbench.benchmarks import BENCHMARKS, DataError, available_languages, load_split, sources
from cgbench.benchmarks.add_language import ValidationFailed, add_language, final_folder, translation_cache_path
from cgbench.benchmarks.loading import _load, release_source
from cgbench.benchmarks.validation import validate
from cgbench.tasks import extra_tasks_dir, tasks_path
from cgbench.tasks.generate import task_name

FILES = {
    "simple_safety_tests": "0_0_SimpleSafetyTests.json",
    "openai_moderation": "0_2_OpenAIModeration.json",
    "toxicchat": "0_8_toxic_chat.json",
}
NEW_HEADER = "মানুহ ব্যৱহাৰকাৰী"  # a header the data layer does not know


@pytest.fixture(autouse=True)
def _fresh_cache():
    _load.cache_clear()
    yield
    _load.cache_clear()


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cgbench.cli", *args], capture_output=True, text=True, env=os.environ)


def _release_folder(tmp_path: Path, source: str, lang: str) -> Path:
    """A ConsistentGuard-style release root holding ``benchmark_<lang>/``: the real ``source`` split, with
    every header replaced by one in the new language."""
    folder = tmp_path / "release" / f"benchmark_{lang}"
    folder.mkdir(parents=True)
    for benchmark, name in FILES.items():
        rows = [
            {"input": f"{NEW_HEADER}: {item.text}", "output": "harmful" if item.label else "unharmful"}
            for item in load_split(benchmark, source)
        ]
        (folder / name).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return folder.parent


def _edit(folder: Path, benchmark: str, change) -> None:
    path = folder / FILES[benchmark]
    rows = json.loads(path.read_text(encoding="utf-8"))
    change(rows)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def _nothing_final(lang: str) -> None:
    assert not final_folder(lang).exists()
    assert not list(final_folder(lang).parent.glob(f".benchmark_{lang}*"))
    assert lang not in available_languages()


def test_import_a_release_folder_end_to_end(tmp_path, mirror):
    release = _release_folder(tmp_path, "bn", "as")
    result = _cli("data", "add-language", "as", "--from-dir", str(release))
    assert result.returncode == 0, result.stderr
    assert "added as" in result.stdout

    for benchmark in BENCHMARKS:
        items, bengali = load_split(benchmark, "as"), load_split(benchmark, "bn")
        assert [i.text for i in items] == [b.text for b in bengali]  # the new header is gone, nothing else
        assert [i.label for i in items] == [b.label for b in bengali]
        assert items[0].lang == "as" and items[0].source_id == bengali[0].source_id
    manifest = json.loads((final_folder("as") / "manifest.json").read_text())
    assert manifest["method"] == "import" and manifest["header_removed"] == NEW_HEADER
    assert manifest["name"] == "Assamese" and manifest["script"] == "Bengali" and manifest["date"]
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sources.sha256_of(final_folder("as") / name)
    assert set(manifest["source_files"]) == set(FILES.values())
    # code that finds split files through the data layer (the runner's data checksums) finds the added ones
    assert sources.locate(release_source("toxicchat", "as")) == final_folder("as") / FILES["toxicchat"]

    listed = _cli("data", "list")
    rows = [line for line in listed.stdout.splitlines() if " as " in line]
    assert len(rows) == 3 and any("2853" in row and "12.7%" in row for row in rows)
    assert validate(langs=["en", "as"]).ok


def test_tasks_are_registered_for_lm_eval(tmp_path, mirror):
    """`cgbench data add-language` writes the new language's lm-eval tasks (the data layer itself does not)."""
    result = _cli("data", "add-language", "as", "--from-dir", str(_release_folder(tmp_path, "bn", "as")))
    assert result.returncode == 0, result.stderr
    names = [task_name(b, "as") for b in sorted(BENCHMARKS)]
    assert sorted(path.stem for path in extra_tasks_dir().glob("cg_*_as.yaml")) == names
    assert "lm-eval tasks:" in result.stdout and all(name in result.stdout for name in names)
    include = tasks_path()
    assert (include / "cg_toxicchat_as.yaml").is_file() and (include / "cg_toxicchat_bn.yaml").exists()
    assert "lang: as" in (include / "cg_toxicchat_as.yaml").read_text()
    assert task_name("toxicchat", "as") == "cg_toxicchat_as"


def _drop_row(rows):
    del rows[-1]


def _flip_label(rows):
    rows[5]["output"] = "unharmful" if rows[5]["output"] == "harmful" else "harmful"


def _empty_row(rows):
    rows[3]["input"] = f"{NEW_HEADER}:   "


BROKEN = [
    ("openai_moderation", _drop_row, r"openai_moderation/as: 1679 rows, English has 1680"),
    ("toxicchat", _flip_label, r"toxicchat/as: row 5: label \d differs from English \d"),
    ("simple_safety_tests", _empty_row, r"simple_safety_tests/as: row 3: field 'text' is empty"),
]


@pytest.mark.parametrize(("benchmark", "change", "message"), BROKEN, ids=["count", "label", "empty"])
def test_a_broken_import_names_the_failure_and_writes_nothing(tmp_path, mirror, benchmark, change, message):
    release = _release_folder(tmp_path, "bn", "as")
    good = (release / "benchmark_as" / FILES[benchmark]).read_bytes()
    _edit(release / "benchmark_as", benchmark, change)
    with pytest.raises(ValidationFailed, match=message) as failure:
        add_language("as", from_dir=release, progress=False)
    assert "nothing was added" in str(failure.value)
    _nothing_final("as")

    (release / "benchmark_as" / FILES[benchmark]).write_bytes(good)
    add_language("as", from_dir=release, progress=False)
    assert len(load_split(benchmark, "as")) == BENCHMARKS[benchmark].n


def test_wrong_script_and_untranslated_splits_are_refused(tmp_path, mirror):
    hindi_as_bengali = _release_folder(tmp_path / "a", "hi", "as")
    with pytest.raises(ValidationFailed, match=r"toxicchat/as: 0\.\d% of rows are mostly in Bengali script") as failure:
        add_language("as", from_dir=hindi_as_bengali, progress=False)
    assert len(failure.value.report.errors) == 3  # one per set, each named
    english_as_german = _release_folder(tmp_path / "b", "en", "de")
    with pytest.raises(ValidationFailed, match=r"openai_moderation/de: 100% of rows are identical to English"):
        add_language("de", from_dir=english_as_german, progress=False)
    _nothing_final("as")
    _nothing_final("de")


def test_bad_files_and_codes_give_one_clear_error(tmp_path, mirror):
    release = _release_folder(tmp_path, "bn", "as")
    folder = release / "benchmark_as"
    _edit(folder, "toxicchat", lambda rows: rows[9].update(output="toxic"))
    with pytest.raises(DataError, match=r"0_8_toxic_chat.json: row 9: field 'output' is 'toxic'"):
        add_language("as", from_dir=release, progress=False)
    (folder / FILES["openai_moderation"]).unlink()
    with pytest.raises(DataError, match=r"benchmark_as: missing 0_2_OpenAIModeration.json"):
        add_language("as", from_dir=release, progress=False)
    with pytest.raises(DataError, match=r"'bn' is one of the paper's languages"):
        add_language("bn", from_dir=release, progress=False)
    with pytest.raises(DataError, match=r"language code 'Assamese'"):
        add_language("Assamese", from_dir=release, progress=False)
    with pytest.raises(DataError, match=r"exactly one of --translator T or --from-dir DIR"):
        add_language("as", progress=False)
    _nothing_final("as")
    result = _cli("data", "add-language", "as", "--from-dir", str(release))
    assert result.returncode == 2 and "missing 0_2_OpenAIModeration.json" in result.stderr


class LookupTranslator:
    """A translator over a real translated split: each English prompt maps to its Hindi row (the text the
    ConsistentGuard release holds for it). Counts the texts it is asked for; can fail or drop texts."""

    spec = "lookup:hi"
    model = "ConsistentGuard release, Hindi"
    batch_size = 500

    def __init__(self, fail_after: int | None = None, blank: set[str] | None = None, english: set[str] = frozenset()):
        self.table = {}
        for benchmark in BENCHMARKS:
            for en, hi in zip(load_split(benchmark, "en"), load_split(benchmark, "hi")):
                self.table.setdefault(en.text, hi.text)
        self.calls, self.asked = 0, []
        self.fail_after, self.blank, self.english = fail_after, blank or set(), english

    def translate(self, texts, target):
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise RuntimeError("connection lost")
        self.calls += 1
        self.asked += texts
        return [None if text in self.blank else text if text in self.english else self.table[text] for text in texts]


def _unique_english() -> list[str]:
    return list(dict.fromkeys(item.text for b in BENCHMARKS for item in load_split(b, "en")))


def test_translation_is_batched_cached_and_resumes_after_a_crash():
    unique = _unique_english()
    crashing = LookupTranslator(fail_after=3)
    with pytest.raises(RuntimeError, match="connection lost"):
        add_language("mr", translator=crashing, progress=False)
    _nothing_final("mr")
    assert len(crashing.asked) == 3 * 500
    assert len(translation_cache_path("mr").read_text().splitlines()) == 1500

    resumed = LookupTranslator()
    added = add_language("mr", translator=resumed, progress=False)
    assert len(resumed.asked) == len(unique) - 1500 and not set(resumed.asked) & set(crashing.asked)
    assert (added.translated, added.from_cache) == (len(unique) - 1500, 1500)
    hindi = load_split("toxicchat", "hi")
    assert [item.text for item in load_split("toxicchat", "mr")][:50] == [item.text for item in hindi][:50]
    manifest = added.manifest
    assert manifest["translator"] == "lookup:hi" and manifest["model"] == "ConsistentGuard release, Hindi"
    assert manifest["script"] == "Devanagari" and set(manifest["english_files"]) == set(FILES.values())

    again = LookupTranslator()
    add_language("mr", translator=again, force=True, progress=False)
    assert again.calls == 0  # everything came from the cache
    add_language("mr", translator=again, force=True, fresh=True, progress=False)
    assert len(again.asked) == len(unique)


def test_untranslated_rows_fail_then_a_rerun_translates_only_those():
    sst = load_split("simple_safety_tests", "en")
    refused = {sst[2].text, sst[7].text}
    with pytest.raises(
        ValidationFailed, match=r"simple_safety_tests/mr: 2 row\(s\) got no translation .*rows \[2, 7\]"
    ):
        add_language("mr", translator=LookupTranslator(blank=refused), progress=False)
    _nothing_final("mr")
    fixed = LookupTranslator()
    add_language("mr", translator=fixed, progress=False)
    assert sorted(fixed.asked) == sorted(refused)
    assert load_split("simple_safety_tests", "mr")[7].text == load_split("simple_safety_tests", "hi")[7].text


def test_a_share_left_in_english_warns_but_passes():
    toxic = [item.text for item in load_split("toxicchat", "en")]
    left = set(toxic[:200])  # 7% of ToxicChat stays English
    added = add_language("mr", translator=LookupTranslator(english=left), progress=False)
    assert any(w.startswith("toxicchat/mr: 7.") and "identical to English" in w for w in added.report.warnings)
    assert added.manifest["warnings"] == added.report.warnings
    assert "mr" in available_languages()


def test_an_added_language_is_replaced_only_with_force(tmp_path, mirror):
    release = _release_folder(tmp_path, "bn", "as")
    add_language("as", from_dir=release, progress=False)
    with pytest.raises(DataError, match=r"'as' was already added .*--force"):
        add_language("as", from_dir=release, progress=False)
    _edit(release / "benchmark_as", "simple_safety_tests", lambda rows: rows[0].update(input="নতুন প্ৰশ্ন"))
    add_language("as", from_dir=release, force=True, progress=False)
    assert load_split("simple_safety_tests", "as")[0].text == "নতুন প্ৰশ্ন"
    assert not list(final_folder("as").parent.glob(".benchmark_as*"))


def test_a_language_in_the_mirror_is_found_before_the_user_dir(mirror_copy, mirror, tmp_path):
    shutil.copytree(mirror / "consistentguard/benchmark_bn", mirror_copy / "consistentguard/benchmark_as")
    assert "as" in available_languages(mirror_copy)
    with pytest.raises(DataError, match=r"'as' is already in the data dir"):
        add_language("as", from_dir=_release_folder(tmp_path, "bn", "as"), data_dir=mirror_copy)

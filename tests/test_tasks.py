"""The lm-eval tasks: generated YAMLs up to date, the task index lm-eval builds from them, the task-side
Python (data, prompts, filter, metrics) and a language added outside the package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split
from cgbench.benchmarks.sets import RTP_LX
from cgbench.benchmarks.sources import sha256_of
from cgbench.cli import app
from cgbench.models.guards import get_format
from cgbench.tasks import TASKS_DIR, extra_tasks_dir, lm_eval_argv, tasks_path
from cgbench.tasks.generate import HEADER, write_package_tasks, write_tasks
from cgbench.tasks.guard_task import load_docs, metric_names, parse_outputs, process_results

pytest.importorskip("lm_eval")

ALL_TASKS = {f"cg_{b}_{lang}" for b in BENCHMARKS for lang in LANGUAGES}


@pytest.fixture(autouse=True)
def _user_dir(tmp_path, monkeypatch):
    """Added languages and their tasks go to a private user dir."""
    monkeypatch.setenv("CGBENCH_HOME", str(tmp_path / "home"))


def _task_manager(include_path: Path, **metadata):
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(include_path), include_defaults=False, metadata=metadata or None)


def test_generated_yamls_are_up_to_date(tmp_path):
    fresh = write_package_tasks(tmp_path)
    assert {p.name for p in fresh} == {p.name for p in TASKS_DIR.glob("*.yaml") if p.read_text().startswith(HEADER)}
    stale = [p.name for p in fresh if (TASKS_DIR / p.name).read_text() != p.read_text()]
    assert not stale, f"regenerate with `python -m cgbench.tasks.generate`: {stale}"


def test_lm_eval_indexes_tasks_groups_and_tags():
    manager = _task_manager(tasks_path())
    assert set(manager.all_subtasks) >= ALL_TASKS
    assert {"cg_multilingual", "cg_openai_moderation", "cg_toxicchat", "cg_simple_safety_tests"} <= set(
        manager.all_groups
    )
    for lang in LANGUAGES:  # a language's tag gathers every set that has it (RTP-LX has no Bengali)
        rtp_lx = {f"cg_rtp_lx_{lang}"} if lang in RTP_LX.languages else set()
        assert manager.task_index[f"cg_lang_{lang}"].tags == {f"cg_{b}_{lang}" for b in BENCHMARKS} | rtp_lx
    assert {f"cg_rtp_lx_{lang}" for lang in RTP_LX.languages} <= set(manager.all_subtasks)
    assert {"cg_rtp_lx", "cg_all"} <= set(manager.all_groups)


def test_cg_all_holds_every_set_and_cg_multilingual_the_papers():
    from lm_eval.tasks._yaml_loader import load_yaml

    assert load_yaml(TASKS_DIR / "_cg_multilingual.yaml")["task"] == [f"cg_{b}" for b in BENCHMARKS]
    assert load_yaml(TASKS_DIR / "_cg_all.yaml")["task"] == [f"cg_{b}" for b in BENCHMARKS] + ["cg_rtp_lx"]
    loaded = _task_manager(tasks_path()).load(["cg_rtp_lx_zh-Hant"])
    docs = list(loaded["tasks"]["cg_rtp_lx_zh-Hant"].test_docs())
    assert len(docs) == 1122 and {doc["label"] for doc in docs} == {0, 1}


def test_group_builds_every_language_with_format_budget():
    loaded = _task_manager(tasks_path(), prompt_format="guardreasoner").load(["cg_simple_safety_tests"])
    assert set(loaded["tasks"]) == {f"cg_simple_safety_tests_{lang}" for lang in LANGUAGES}
    task = loaded["tasks"]["cg_simple_safety_tests_fr"]
    assert task.config.generation_kwargs == {
        "until": [],
        "max_gen_toks": get_format("guardreasoner").max_new_tokens,
        "do_sample": False,
        "temperature": 0.0,
    }
    docs = list(task.test_docs())
    assert len(docs) == 100
    assert docs[3]["prompt"].startswith("You are a classifier for analyzing interactions between humans and AI")


def test_metric_names_match_process_results():
    from lm_eval.tasks._yaml_loader import load_yaml

    for benchmark in BENCHMARKS:
        config = load_yaml(TASKS_DIR / f"cg_{benchmark}_en.yaml")
        listed = tuple(m["metric"] for m in config["metric_list"])
        doc = {"benchmark": benchmark, "label": 1}
        assert tuple(process_results(doc, [None])) == listed == metric_names(benchmark)


def test_load_docs_accepts_lm_eval_keywords_and_renders_formats():
    items = load_split("toxicchat", "ja")
    kwargs = {"version": 1.0, "pretrained": "some/model", "config_source": "x.yaml"}

    bare = load_docs(benchmark="toxicchat", lang="ja", prompt_format="llama_guard", **kwargs)["test"]
    assert len(bare) == len(items)
    assert [bare[i]["prompt"] for i in (0, 7)] == [items[0].text, items[7].text]
    assert bare[7]["idx"] == 7 and bare[7]["label"] == items[7].label and bare[7]["lang"] == "ja"

    default = load_docs(benchmark="toxicchat", lang="ja", **kwargs)["test"]
    assert default[0]["prompt_format"] == "instruct"
    assert items[0].text in default[0]["prompt"] and default[0]["prompt"] != items[0].text

    gemma = load_docs(
        benchmark="toxicchat", lang="ja", prompt_format="shieldgemma", format_options={"policy": "combined"}
    )
    assert json.loads(gemma["test"][0]["format_options"]) == {"policy": "combined"}
    assert "No Hate Speech" in gemma["test"][0]["prompt"] and "No Harassment" in gemma["test"][0]["prompt"]
    with pytest.raises(ValueError, match="builds 4 prompts per item.*'combined'"):  # never a silent switch
        load_docs(benchmark="toxicchat", lang="ja", guard="shieldgemma-2b")

    guard = load_docs(benchmark="toxicchat", lang="ja", guard="llama-guard-3-1b")["test"]
    assert guard[0]["prompt"].startswith("<|start_header_id|>user") and "S14" not in guard[0]["prompt"]


def test_multi_part_prompts_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="one user turn of plain text"):
        load_docs(
            benchmark="simple_safety_tests", lang="en", prompt_format="llama_guard", format_options={"variant": "1b"}
        )
    with pytest.raises(ValueError, match="unknown prompt format 'llama-guard'"):
        load_docs(benchmark="simple_safety_tests", lang="en", prompt_format="llama-guard")


def test_filter_parses_with_the_docs_format_and_keeps_failures():
    doc = {"prompt_format": "llama_guard", "format_options": "{}"}
    outputs = [["unsafe\nS1"], ["safe"], ["Human user: unsafe"], [""], ["\n\nunsafe"]]
    assert parse_outputs(outputs, [doc] * len(outputs)) == [1, 0, None, None, 1]
    cg = {"prompt_format": "consistentguard", "format_options": "{}"}
    text = "<think>asks for a weapon</think><violations>S9</violations><judge>harmful</judge>"
    assert parse_outputs([[text]], [cg]) == [1]


def test_added_language_joins_groups_through_one_include_path(mirror, monkeypatch, tmp_path):
    home = tmp_path / "home"
    added = home / "consistentguard" / "benchmark_xx"
    added.mkdir(parents=True)
    for source in (mirror / "consistentguard" / "benchmark_fr").glob("*.json"):
        shutil.copy(source, added / source.name)
    files = {path.name: {"sha256": sha256_of(path)} for path in added.glob("*.json")}
    (added / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")  # as add-language writes it
    assert tasks_path() == TASKS_DIR  # nothing added yet

    written = write_tasks(["xx"], extra_tasks_dir())
    assert {p.name for p in written} == {f"cg_{b}_xx.yaml" for b in BENCHMARKS}
    assert tasks_path() == extra_tasks_dir()
    manager = _task_manager(tasks_path())
    assert manager.task_index["cg_lang_xx"].tags == {f"cg_{b}_xx" for b in BENCHMARKS}
    loaded = manager.load(["cg_simple_safety_tests"])
    assert set(loaded["tasks"]) == {f"cg_simple_safety_tests_{lang}" for lang in [*LANGUAGES, "xx"]}
    docs = list(loaded["tasks"]["cg_simple_safety_tests_xx"].test_docs())
    assert docs[5]["text"] == load_split("simple_safety_tests", "fr")[5].text and docs[5]["lang"] == "xx"

    with pytest.raises(ValueError, match="letters, digits"):
        write_tasks(["x/y"], tmp_path / "elsewhere")


def test_cli_tasks_path_and_lm_eval_arguments():
    result = CliRunner().invoke(app, ["tasks-path"])
    assert result.exit_code == 0 and Path(result.output.strip()) == TASKS_DIR

    argv = lm_eval_argv(["--model", "hf", "--tasks", "cg_multilingual"])
    assert argv[1:] == ["-m", "lm_eval", "run", "--include_path", str(TASKS_DIR), "--model", "hf", "--tasks",
                        "cg_multilingual"]  # fmt: skip
    assert lm_eval_argv(["ls", "tasks"])[3:6] == ["ls", "--include_path", str(TASKS_DIR)]

    refused = CliRunner().invoke(app, ["lm-eval", "--include_path", "mine", "--tasks", "x"])
    assert refused.exit_code == 2 and "fills in --include_path" in refused.output


def test_task_refuses_a_chat_template_the_format_cannot_take():
    """lm-eval's own request building: a raw guard prompt under --apply_chat_template, or a message format that
    the chat template cannot render exactly, stops with the reason; the right setting builds requests."""
    loaded = _task_manager(tasks_path(), guard="llama-guard-3-8b").load(["cg_simple_safety_tests_en"])
    task = loaded["tasks"]["cg_simple_safety_tests_en"]
    with pytest.raises(ValueError, match="run it without --apply_chat_template"):
        task.build_all_requests(apply_chat_template=True, limit=2)
    task.build_all_requests(apply_chat_template=False, limit=2)
    assert len(task.instances) == 2 and "<|eot_id|><|start_header_id|>assistant" in task.instances[0].args[0]

    bare = _task_manager(tasks_path(), prompt_format="llama_guard").load(["cg_simple_safety_tests_en"])
    with pytest.raises(ValueError, match="second BOS"):
        bare["tasks"]["cg_simple_safety_tests_en"].build_all_requests(apply_chat_template=True, limit=2)
    instruct = _task_manager(tasks_path()).load(["cg_simple_safety_tests_en"])["tasks"]["cg_simple_safety_tests_en"]
    with pytest.raises(ValueError, match="add --apply_chat_template"):
        instruct.build_all_requests(apply_chat_template=False, limit=2)

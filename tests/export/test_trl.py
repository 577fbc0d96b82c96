"""TRL takes the export as it is: one training step of RewardTrainer and of DPOTrainer on CPU, on the
Hugging Face datasets written by `crowdloop export preferences`, with a tiny Llama built from a config and
a word-level tokenizer trained here (nothing is downloaded)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import datasets
import pytest
from click.testing import CliRunner

from crowdloop.export.commands import export as export_command
from crowdloop.runtime import Services
from tests.export.helpers import Loop, fill_store, ranks, write_outputs

pytestmark = [
    pytest.mark.slow,
    # transformers 5 renames gradient_checkpointing -> activation_checkpointing and warns from its own code.
    pytest.mark.filterwarnings("ignore:`.*` is deprecated and will be removed in v6:FutureWarning"),
]

PROMPT = "Explain why you can see yourself in a mirror at a level that a 16 year old person can understand"
RESPONSES = [
    "\nLight from a bulb reflects off your body toward the mirror, reflects again and enters your eyes.",
    "\nYou see yourself because light reflects off you, then off the mirror, and travels to your eyes.",
    "\nLight travels from a source, some reflects off your body and the mirror, and your brain makes an image.",
]


def export_dataset(tmp_path: Path, *extra: str) -> Any:
    loops = [
        Loop(f"mirror-{k}", PROMPT, RESPONSES, [("w1", ranks("1", "2", "3")), ("w2", ranks("2", "1", "3"))])
        for k in range(4)
    ]
    source = tmp_path / "a2i"
    if not source.exists():
        write_outputs(source, loops)
    out = tmp_path / ("prefs-" + "-".join(extra or ("standard",)))
    result = CliRunner().invoke(
        export_command, ["preferences", "--source", str(source), "--output", str(out), "--format", "hf", *extra]
    )
    assert result.exit_code == 0, result.output
    return datasets.load_from_disk(str(out))


def example() -> Any:
    """examples/train_reward_and_dpo.py, whose tiny tokenizer and model these tests share."""
    path = Path(__file__).resolve().parents[2] / "examples" / "train_reward_and_dpo.py"
    spec = importlib.util.spec_from_file_location("train_reward_and_dpo", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reward_trainer_and_dpo_trainer_take_the_export(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer  # type: ignore[attr-defined]

    torch.manual_seed(0)
    standard = export_dataset(tmp_path)
    conversational = export_dataset(tmp_path, "--conversational")
    assert standard.column_names == [
        "prompt",
        "chosen",
        "rejected",
        "margin",
        "item_id",
        "annotator",
        "agreement",
        "worker_flagged",
    ]
    assert len(standard) == 4 * 6 and conversational[0]["prompt"] == [{"role": "user", "content": PROMPT}]
    train_example = example()
    tokenizer = train_example.tiny_tokenizer(train_example.texts_of(standard))
    tiny_config = train_example.tiny_config
    common: dict[str, Any] = {
        "max_steps": 1,
        "per_device_train_batch_size": 4,
        "report_to": "none",
        "use_cpu": True,
        "save_strategy": "no",
        "logging_steps": 1,
        "disable_tqdm": True,
    }

    for train in (standard, conversational):
        model = AutoModelForSequenceClassification.from_config(  # type: ignore[no-untyped-call]
            tiny_config(tokenizer, num_labels=1)
        )
        trainer = RewardTrainer(
            model=model,
            args=RewardConfig(output_dir=str(tmp_path / "rm"), **common),
            train_dataset=train,
            processing_class=tokenizer,
        )
        result = trainer.train()
        assert result.global_step == 1 and result.training_loss > 0

    policy = AutoModelForCausalLM.from_config(tiny_config(tokenizer))  # type: ignore[no-untyped-call]
    reference = AutoModelForCausalLM.from_config(tiny_config(tokenizer))  # type: ignore[no-untyped-call]
    dpo = DPOTrainer(
        model=policy,
        ref_model=reference,
        args=DPOConfig(output_dir=str(tmp_path / "dpo"), **common),
        train_dataset=conversational,
        processing_class=tokenizer,
    )
    result = dpo.train()
    assert result.global_step == 1 and result.training_loss == pytest.approx(0.6931, abs=0.05)  # log 2 at step 0


def test_the_training_example_runs_on_a_store_and_on_an_export(services: Services, tmp_path: Path) -> None:
    """docs/training.md's script as a user runs it: from a flow definition in the store, and from a dataset
    `crowdloop export preferences --format hf --conversational` saved."""
    loops = [
        Loop(f"mirror-{k}", PROMPT, RESPONSES, [("w1", ranks("1", "2", "3")), ("w2", ranks("2", "1", "3"))])
        for k in range(4)
    ]
    fill_store(services, loops, "fd-train", task_count=2)
    url = services.settings.resolved_database_url
    train_example = example()
    summary = train_example.main(
        ["--source", "fd-train", "--database-url", url, "--out", str(tmp_path / "a"), "--steps", "2"]
    )
    assert summary["pairs"] == 4 * 6  # 3 pairs per answer, 2 answers per loop
    assert summary["reward"]["steps"] == 2 and summary["dpo"]["steps"] == 2
    assert summary["reward"]["loss"] > 0 and summary["dpo"]["loss"] > 0
    for folder in ("reward", "dpo", "tokenizer"):
        assert any((tmp_path / "a" / folder).iterdir()), folder
    saved = export_dataset(tmp_path, "--conversational")
    saved.save_to_disk(str(tmp_path / "prefs"))
    again = train_example.main(["--dataset", str(tmp_path / "prefs"), "--out", str(tmp_path / "b"), "--steps", "1"])
    assert again["pairs"] == len(saved) and again["dpo"]["steps"] == 1

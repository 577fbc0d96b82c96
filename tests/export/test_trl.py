"""TRL takes the export as it is: one training step of RewardTrainer and of DPOTrainer on CPU, on the
Hugging Face datasets written by `crowdloop export preferences`, with a tiny Llama built from a config and
a word-level tokenizer trained here (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import datasets
import pytest
from click.testing import CliRunner

from crowdloop.export.commands import export as export_command
from tests.export.helpers import Loop, ranks, write_outputs

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


def tiny_tokenizer(dataset: Any) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(
        [PROMPT, *RESPONSES, "user assistant :"],
        trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[BOS]", "[EOS]"]),
    )
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=words, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    return tokenizer


def tiny_config(tokenizer: Any, **extra: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **extra,
    )


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
    tokenizer = tiny_tokenizer(standard)
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

"""From crowdloop's human rankings to a trained model: a reward model (TRL's RewardTrainer) and DPO steps (TRL's
DPOTrainer) on the preference pairs `crowdloop export preferences` makes.

By default the model is a tiny Llama built here from a config, with a word-level tokenizer trained on the
dataset's own words: nothing is downloaded, and the script runs on a CPU in a minute (it shows the pipeline,
it does not make a useful model). Give `--model NAME` (a Hugging Face checkpoint, e.g.
Qwen/Qwen2.5-0.5B-Instruct) and more `--steps` to train a real one. docs/training.md walks through it.

    pip install 'crowdloop[train]'
    python examples/train_reward_and_dpo.py --source fd-ranking-1234 --out trained       # from the store
    python examples/train_reward_and_dpo.py --source ./a2i-results --out trained         # output.json files
    python examples/train_reward_and_dpo.py --dataset ./prefs --out trained              # an `export --format hf`
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TINY = "tiny"
SPECIAL = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


def load_preferences(args: argparse.Namespace) -> Any:
    """The conversational preference pairs ({prompt: [messages], chosen: [message], rejected: [message]})."""
    if args.dataset:
        import datasets

        return datasets.load_from_disk(args.dataset)
    from crowdloop.export import to_dataset

    return to_dataset(
        args.source,
        "preferences",
        conversational=True,
        data_dir=args.data_dir,
        database_url=args.database_url,
    )


def texts_of(dataset: Any) -> list[str]:
    """Every text of a standard or conversational preference dataset (for the tiny tokenizer's vocabulary)."""
    found: list[str] = []
    for row in dataset:
        for column in ("prompt", "chosen", "rejected"):
            value = row[column]
            found.extend([m["content"] for m in value] if isinstance(value, list) else [value])
    return found


def tiny_tokenizer(texts: list[str]) -> Any:
    """A word-level tokenizer over these texts, with a chat template (what TRL applies to conversations)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator([*texts, "user assistant system :"], trainers.WordLevelTrainer(special_tokens=SPECIAL))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words, pad_token="[PAD]", unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]"
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_config(tokenizer: Any, **extra: Any) -> Any:
    """A one-layer Llama of 16 dimensions for this tokenizer."""
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


def models(name: str, tokenizer: Any) -> tuple[Any, Any, Any]:
    """(reward model, policy, reference policy)."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    if name == TINY:
        return (
            AutoModelForSequenceClassification.from_config(tiny_config(tokenizer, num_labels=1)),
            AutoModelForCausalLM.from_config(tiny_config(tokenizer)),
            AutoModelForCausalLM.from_config(tiny_config(tokenizer)),
        )
    reward = AutoModelForSequenceClassification.from_pretrained(name, num_labels=1)
    reward.config.pad_token_id = tokenizer.pad_token_id
    return reward, AutoModelForCausalLM.from_pretrained(name), AutoModelForCausalLM.from_pretrained(name)


def train(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from trl import DPOConfig, DPOTrainer, RewardConfig, RewardTrainer

    torch.manual_seed(args.seed)
    pairs = load_preferences(args)
    if len(pairs) == 0:
        raise SystemExit("the export has no preference pairs: are the loops Completed? (crowdloop status)")
    if args.model == TINY:
        tokenizer = tiny_tokenizer(texts_of(pairs))
    else:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.model)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
    reward_model, policy, reference = models(args.model, tokenizer)
    out = Path(args.out)
    common: dict[str, Any] = {
        "max_steps": args.steps,
        "per_device_train_batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "report_to": "none",
        "save_strategy": "no",
        "logging_steps": 1,
        "disable_tqdm": True,
        "use_cpu": not torch.cuda.is_available(),
    }
    rewards = RewardTrainer(
        model=reward_model,
        args=RewardConfig(output_dir=str(out / "reward"), **common),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    reward_result = rewards.train()
    rewards.save_model(str(out / "reward"))
    dpo = DPOTrainer(
        model=policy,
        ref_model=reference,
        args=DPOConfig(output_dir=str(out / "dpo"), beta=args.beta, **common),
        train_dataset=pairs,
        processing_class=tokenizer,
    )
    dpo_result = dpo.train()
    dpo.save_model(str(out / "dpo"))
    tokenizer.save_pretrained(str(out / "tokenizer"))
    return {
        "pairs": len(pairs),
        "reward": {"steps": reward_result.global_step, "loss": round(reward_result.training_loss, 4)},
        "dpo": {"steps": dpo_result.global_step, "loss": round(dpo_result.training_loss, 4)},
        "saved": [str(out / "reward"), str(out / "dpo"), str(out / "tokenizer")],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--source", help="a flow definition name, a folder of output.json files or an s3:// prefix")
    where.add_argument(
        "--dataset", help="a dataset saved by `crowdloop export preferences --format hf --conversational`"
    )
    parser.add_argument("--data-dir", default=None, help="crowdloop's data folder (default ./crowdloop-data)")
    parser.add_argument("--database-url", default=None, help="the store's database URL, if not the data folder's")
    parser.add_argument("--model", default=TINY, help=f"a Hugging Face model name, or '{TINY}' (default)")
    parser.add_argument("--out", required=True, help="where the reward model, the DPO policy and the tokenizer go")
    parser.add_argument("--steps", type=int, default=4, help="training steps of each trainer (default 4)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--beta", type=float, default=0.1, help="DPO's beta (default 0.1)")
    parser.add_argument("--seed", type=int, default=0)
    summary = train(parser.parse_args(argv))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

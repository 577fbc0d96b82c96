"""Quality-control settings as `crowdloop:` tags (crowdloop.quality): checked where they are set
(CreateFlowDefinition's tags, AddTags, `crowdloop flows set`), read back as a QualityConfig."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from crowdloop import flows, quality, tags
from crowdloop.cli import main
from crowdloop.errors import InvalidInput
from crowdloop.runtime import Services
from crowdloop.tags import Tag
from tests.domain.loopsetup import CALLER, make_flow


def test_tags_given_at_creation_configure_the_flow(services: Services) -> None:
    flow = make_flow(
        services,
        task_count=5,
        tags=[
            Tag("crowdloop:shuffle-responses", "true"),
            Tag("crowdloop:gold-rate", "0.1"),
            Tag("crowdloop:task-count-min", "2"),
            Tag("crowdloop:agreement-target", "0.75"),
            Tag("team", "rlhf"),  # not ours: ignored
        ],
    )
    config = flows.quality_of(services, CALLER, flow.name)
    assert config == quality.QualityConfig(
        shuffle_responses=True, gold_rate=0.1, task_count_min=2, agreement_target=0.75
    )
    assert flows.quality_of(services, CALLER, make_flow(services).name) == quality.QualityConfig()


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("crowdloop:shuffle-responses", "maybe", "must be true or false"),
        ("crowdloop:gold-rate", "0.9", "from 0 to 0.5"),
        ("crowdloop:gold-rate", "nan", "from 0 to 1"),
        ("crowdloop:gold-min-accuracy", "-0.1", "from 0 to 1"),
        ("crowdloop:qualification", "2.5", "is not a valid value"),
        ("crowdloop:min-seconds", "99999", "from 0 to 3600"),
        ("crowdloop:task-count-min", "4", "at most the flow definition's TaskCount (3)"),
        ("crowdloop:gold-ratio", "0.1", "Unknown tag key 'crowdloop:gold-ratio'"),
    ],
)
def test_a_bad_key_or_value_is_refused_naming_the_tag(services: Services, key: str, value: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        make_flow(services, task_count=3, tags=[Tag(key, value)])
    assert problem in refused.value.message
    assert key in refused.value.message
    assert refused.value.field == "tags"


def test_add_tags_checks_the_new_values_with_the_stored_ones(services: Services) -> None:
    flow = make_flow(services, task_count=3, tags=[Tag("crowdloop:task-count-min", "2")])
    tags.add_tags(services, CALLER, flow.arn, [Tag("crowdloop:agreement-target", "0.8")])
    assert flows.quality_of(services, CALLER, flow.name).task_count_min == 2
    with pytest.raises(InvalidInput, match="crowdloop:shuffle-responses"):
        tags.add_tags(services, CALLER, flow.arn, [Tag("crowdloop:shuffle-responses", "sometimes")])
    assert flows.quality_of(services, CALLER, flow.name).shuffle_responses is False  # nothing was stored
    team = flow.workteam_arn
    with pytest.raises(InvalidInput, match="configure flow definitions"):
        tags.add_tags(services, CALLER, team, [Tag("crowdloop:gold-rate", "0.1")])


def test_flows_set_and_show(services: Services, tmp_path: Path) -> None:
    flow = make_flow(services, task_count=3)
    flags = ["--data-dir", services.settings.data_dir, "--database-url", services.settings.resolved_database_url]
    runner = CliRunner()
    done = runner.invoke(main, ["flows", "set", flow.name, "shuffle-responses=true", "crowdloop:gold-rate=0.2", *flags])
    assert done.exit_code == 0, done.output
    assert "crowdloop:shuffle-responses=true" in done.output.splitlines()
    assert "crowdloop:gold-rate=0.2" in done.output.splitlines()
    shown = runner.invoke(main, ["flows", "show", flow.name, *flags])
    assert shown.exit_code == 0 and shown.output == done.output
    refused = runner.invoke(main, ["flows", "set", flow.name, "task-count-min=9", *flags])
    assert refused.exit_code == 1
    assert "crowdloop:task-count-min" in refused.output and "TaskCount (3)" in refused.output
    missing = runner.invoke(main, ["flows", "show", "no-such-flow", *flags])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    malformed = runner.invoke(main, ["flows", "set", flow.name, "shuffle", *flags])
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.output

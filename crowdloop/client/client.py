"""crowdloop.Client: human rankings, ratings, comparisons and labels from a notebook in one call.

Each call makes a task UI (a default template of crowdloop.client.templates, or yours), a flow definition and
one human loop per item, through the SageMaker and A2I APIs only, and returns a Job. Pointed at crowdloop
(`crowdloop.local()`, or the `AWS_ENDPOINT_URL_*` variables `serve` prints) or at AWS itself, it behaves the
same. docs/python.md is the user's guide."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from crowdloop.client import templates
from crowdloop.client.job import Job, _bar

DEFAULT_ROLE = "arn:aws:iam::123456789012:role/crowdloop-client"
DEFAULT_OUTPUT = "s3://crowdloop-client"
NAME = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
MAX_JOB_NAME = 50  # loop names are <job name>-<item number>, at most 63 characters
MAX_LOOP_INPUT_BYTES = 100 * 1024  # A2I's limit on HumanLoopInput.InputContent


class JobSetupError(ValueError):
    """A job cannot be made as asked (a team that does not exist, an item the template cannot show ...)."""


class Client:
    """The SageMaker, A2I and S3 clients of one boto3 session, and the calls that make jobs of them.

    Without arguments it uses boto3's usual configuration (environment, profile); `endpoint_url` points the
    three clients at one crowdloop server. `role_arn` and `output_path` are what each flow definition names
    (on AWS: a role A2I may assume, and a bucket of yours)."""

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        session: Any = None,
        role_arn: str = DEFAULT_ROLE,
        output_path: str = DEFAULT_OUTPUT,
        max_concurrency: int = 16,
        verify: str | bool | None = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.session = session or boto3.Session(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            region_name=region_name,
        )
        # Throttling and 5xx are retried by botocore (standard mode); the pool keeps max_concurrency connections.
        config = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=max(10, max_concurrency))
        extra: dict[str, Any] = {"config": config}
        if endpoint_url:
            extra["endpoint_url"] = endpoint_url
        if verify is not None:
            extra["verify"] = verify
        self.sagemaker = self.session.client("sagemaker", **extra)
        self.a2i = self.session.client("sagemaker-a2i-runtime", **extra)
        self.s3 = self.session.client("s3", **extra)
        self.role_arn = role_arn
        self.output_path = output_path
        self.max_concurrency = max_concurrency

    def close(self) -> None:
        for client in (self.sagemaker, self.a2i, self.s3):
            client.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the four kinds of work ----------------------------------------------------------------------------

    def rank(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        team: str,
        workers: int = 3,
        instructions: str = "",
        dimensions: Sequence[str] = ("Overall",),
        allow_ties: bool = True,
        **options: Any,
    ) -> Job:
        """Rank the `responses` of each item (`{"prompt": ..., "responses": [...]}`), 1 = best."""
        inputs = [_responses_item(item, i, at_least=2) for i, item in enumerate(items)]
        default = templates.rank(instructions, list(dimensions), allow_ties)
        return self._job("rank", inputs, team, workers, default, instructions or "Rank the responses", options)

    def rate(
        self,
        items: Iterable[Mapping[str, Any]],
        *,
        team: str,
        workers: int = 3,
        instructions: str = "",
        scale: tuple[int, int] = (1, 7),
        **options: Any,
    ) -> Job:
        """Rate each response of each item (`{"prompt", "response"}` or `{"prompt", "responses": [...]}`) on
        the scale (integers, higher = better)."""
        low, high = scale
        if not (isinstance(low, int) and isinstance(high, int) and low < high):
            raise JobSetupError(f"scale must be two integers, low < high (got {scale!r})")
        inputs = [_responses_item(item, i, at_least=1) for i, item in enumerate(items)]
        default = templates.rate(instructions, low, high)
        return self._job("rate", inputs, team, workers, default, instructions or "Rate the responses", options)

    def compare(
        self, items: Iterable[Mapping[str, Any]], *, team: str, workers: int = 3, instructions: str = "", **options: Any
    ) -> Job:
        """Choose the better of two responses (`{"prompt": ..., "responses": [a, b]}`), or Tie."""
        inputs = [_responses_item(item, i, at_least=2, at_most=2) for i, item in enumerate(items)]
        default = templates.compare(instructions)
        return self._job("compare", inputs, team, workers, default, instructions or "Which is better?", options)

    def label(
        self,
        items: Iterable[str | Mapping[str, Any]],
        *,
        labels: Sequence[str],
        team: str,
        workers: int = 3,
        instructions: str = "",
        **options: Any,
    ) -> Job:
        """Give each text (a string, or `{"text": ...}`) one of `labels`."""
        chosen = [str(name) for name in labels]
        if len(chosen) < 2 or len(set(chosen)) != len(chosen):
            raise JobSetupError("labels: give at least two different labels")
        inputs = [_text_item(item, i) for i, item in enumerate(items)]
        default = templates.label(instructions, chosen)
        return self._job("label", inputs, team, workers, default, instructions or "Label the text", options)

    # --- existing jobs -------------------------------------------------------------------------------------

    def job(self, name: str) -> Job:
        """The job of an earlier call (in another session): its flow definition, and its loops counted."""
        flow = self.sagemaker.describe_flow_definition(FlowDefinitionName=name)
        job = Job(self, name, flow["FlowDefinitionArn"], flow["OutputConfig"]["S3OutputPath"], 0, _kind_of(flow))
        job.total = sum(1 for _ in job.loop_statuses())
        return job

    # --- the calls behind every kind -----------------------------------------------------------------------

    def _job(
        self,
        kind: str,
        inputs: list[dict[str, Any]],
        team: str,
        workers: int,
        default_template: str,
        title: str,
        options: dict[str, Any],
    ) -> Job:
        name = options.pop("name", None) or f"{kind}-{uuid.uuid4().hex[:12]}"
        template = options.pop("template", None) or default_template
        description = options.pop("description", None) or title
        output_path = options.pop("output_path", None) or self.output_path
        progress_bar = options.pop("progress_bar", True)
        task_seconds = options.pop("task_time_limit_seconds", None)
        if options:
            raise TypeError(f"unexpected options: {', '.join(sorted(options))}")
        _check_name(name)
        if not inputs:
            raise JobSetupError("items: give at least one item")
        _loop_inputs(inputs)  # every item fits before anything is made
        if not 1 <= workers <= 3 or not isinstance(workers, int):
            raise JobSetupError(f"workers must be 1, 2 or 3 (A2I's TaskCount; got {workers!r})")
        team_arn = self._team_arn(team)
        ui_arn = self.sagemaker.create_human_task_ui(HumanTaskUiName=f"{name}-ui", UiTemplate={"Content": template})[
            "HumanTaskUiArn"
        ]
        loop_config: dict[str, Any] = {
            "WorkteamArn": team_arn,
            "HumanTaskUiArn": ui_arn,
            "TaskCount": workers,
            "TaskTitle": title[:128],
            "TaskDescription": description[:255],
        }
        if task_seconds:
            loop_config["TaskTimeLimitInSeconds"] = int(task_seconds)
        flow_arn = self.sagemaker.create_flow_definition(
            FlowDefinitionName=name,
            RoleArn=self.role_arn,
            HumanLoopConfig=loop_config,
            OutputConfig={"S3OutputPath": output_path},
        )["FlowDefinitionArn"]
        self._wait_active(name)
        job = Job(self, name, flow_arn, output_path, len(inputs), kind)
        self.start_loops(job, inputs, progress_bar=progress_bar)
        return job

    def start_loops(self, job: Job, inputs: Sequence[Mapping[str, Any]], *, progress_bar: bool = True) -> None:
        """One human loop per input, named `<job>-<number>`, started by max_concurrency threads (a request
        retried after a lost answer is safe: StartHumanLoop with the same name and input is idempotent)."""
        bodies = _loop_inputs(inputs)
        bar = _bar(len(bodies), f"starting {job.name}") if progress_bar else None
        start = self._starter(job)
        try:
            with ThreadPoolExecutor(max_workers=self.max_concurrency) as pool:
                for done in as_completed([pool.submit(start, n, body) for n, body in enumerate(bodies)]):
                    done.result()
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    def _starter(self, job: Job) -> Callable[[int, str], None]:
        a2i = self.a2i

        def start(number: int, body: str) -> None:
            loop_name = f"{job.name}-{number}"
            try:
                a2i.start_human_loop(
                    HumanLoopName=loop_name, FlowDefinitionArn=job.flow_arn, HumanLoopInput={"InputContent": body}
                )
            except (a2i.exceptions.ConflictException, a2i.exceptions.ValidationException) as exc:
                raise JobSetupError(f"item {number}: {exc.response['Error']['Message']}") from exc

        return start

    def _team_arn(self, team: str) -> str:
        if team.startswith("arn:"):
            return team
        try:
            return str(self.sagemaker.describe_workteam(WorkteamName=team)["Workteam"]["WorkteamArn"])
        except self.sagemaker.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] not in ("ValidationException", "ResourceNotFound"):
                raise
            raise JobSetupError(
                f"there is no work team {team!r}: create it with sagemaker.create_workteam(...) or"
                f" `crowdloop teams create {team} --group GROUP`"
            ) from exc

    def _wait_active(self, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pause = 0.05  # crowdloop activates at once (A2I within seconds): ask again soon, then less often
        while True:
            flow = self.sagemaker.describe_flow_definition(FlowDefinitionName=name)
            status = flow["FlowDefinitionStatus"]
            if status == "Active":
                return
            if status == "Failed" or time.monotonic() > deadline:
                raise JobSetupError(f"flow definition {name} is {status}: {flow.get('FailureReason', '')}")
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _loop_inputs(inputs: Sequence[Mapping[str, Any]]) -> list[str]:
    bodies = [json.dumps({"taskObject": dict(item)}, ensure_ascii=False) for item in inputs]
    for number, body in enumerate(bodies):
        if len(body.encode()) > MAX_LOOP_INPUT_BYTES:
            raise JobSetupError(f"item {number}: its input is {len(body.encode())} bytes; A2I takes 100 KiB")
    return bodies


def _check_name(name: str) -> None:
    if not NAME.match(name) or len(name) > MAX_JOB_NAME:
        raise JobSetupError(f"name {name!r}: lower-case letters, digits and hyphens, at most {MAX_JOB_NAME} characters")


def _responses_item(
    item: Mapping[str, Any], number: int, *, at_least: int, at_most: int | None = None
) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise JobSetupError(f"item {number}: give a dict with 'prompt' and 'responses'")
    found = dict(item)
    if "responses" not in found and "response" in found:
        found["responses"] = [found.pop("response")]
    prompt, responses = found.get("prompt"), found.get("responses")
    if not isinstance(prompt, str) or not prompt.strip():
        raise JobSetupError(f"item {number}: 'prompt' must be a non-empty string")
    if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
        raise JobSetupError(f"item {number}: 'responses' must be a list of strings")
    if len(responses) < at_least or (at_most is not None and len(responses) > at_most):
        wanted = f"exactly {at_most}" if at_most == at_least else f"at least {at_least}"
        raise JobSetupError(f"item {number}: {len(responses)} responses; this kind of task needs {wanted}")
    return found


def _text_item(item: str | Mapping[str, Any], number: int) -> dict[str, Any]:
    found = {"text": item} if isinstance(item, str) else dict(item)
    if not isinstance(found.get("text"), str) or not found["text"].strip():
        raise JobSetupError(f"item {number}: give a string, or a dict with a non-empty 'text'")
    return found


def _kind_of(flow: Mapping[str, Any]) -> str:
    name = str(flow.get("FlowDefinitionName", ""))
    prefix = name.split("-", 1)[0]
    return prefix if prefix in ("rank", "rate", "compare", "label") else "custom"

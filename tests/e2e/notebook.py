"""The seed notebook (tests/data/seeds/a2i-ranking-notebook-en.txt), sections 2-3.6 and the output read of
section 4, as the code cells it runs. Each CELL is checked to stand verbatim in the seed file, so the test
proves the user's code runs unchanged; only the SageMaker-SDK session lines (which need a real AWS
account and are not boto3 calls) are replaced by PRELUDE."""

from __future__ import annotations

from tests.shared import SEED_EN as SEED
from tests.shared import SEED_KO

# Stands in for `sess = sagemaker.Session(); bucket = sess.default_bucket(); role = get_execution_role()`.
PRELUDE = """
bucket = BUCKET
role = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
"""

CELLS = [
    # section 2 (minus the SageMaker SDK session)
    """region = boto3.Session().region_name
sagemaker = boto3.client("sagemaker", region)
a2i = boto3.client("sagemaker-a2i-runtime")
s3 = boto3.client("s3", region)""",
    """output_path = f"s3://{bucket}/ground-truth-star-rating-results"
print(output_path)""",
    # 2.1
    """account_id = boto3.client("sts").get_caller_identity().get("Account")
augmented_ai_workteam_arn = "arn:aws:sagemaker:{}:{}:workteam/private-crowd/article-test".format(region, account_id)
augmented_ai_workteam_arn""",
    # 2.2: `template = r"""..."""` is taken from the seed by template_cell()
    """task_ui_name = "ui-ranking-" + str(uuid.uuid4())

# Create a Human Task UI resource.
human_task_ui_response = sagemaker.create_human_task_ui(
    HumanTaskUiName=task_ui_name, 
    UiTemplate={"Content": template}
)
human_task_ui_arn = human_task_ui_response["HumanTaskUiArn"]
human_task_ui_arn""",
    # 3
    """flow_definition_name = "fd-ranking-" + str(uuid.uuid4())

create_workflow_definition_response = sagemaker.create_flow_definition(
    FlowDefinitionName=flow_definition_name,
    RoleArn=role,
    HumanLoopConfig={
        "WorkteamArn": augmented_ai_workteam_arn,
        "HumanTaskUiArn": human_task_ui_arn,
        "TaskCount": 1,
        "TaskDescription": "Rank the answer for the given question from Least (Worst) to Most (Best)",
        "TaskTitle": "Rank the answer for the given question from Least (Worst) to Most (Best)",
        
    },
    OutputConfig={"S3OutputPath": output_path},
)

augmented_ai_flow_definition_arn = create_workflow_definition_response["FlowDefinitionArn"]""",
    # 3.1
    """for x in range(60):
    describeFlowDefinitionResponse = sagemaker.describe_flow_definition(FlowDefinitionName=flow_definition_name)
    print(describeFlowDefinitionResponse["FlowDefinitionStatus"])
    if describeFlowDefinitionResponse["FlowDefinitionStatus"] == "Active":
        print("Flow Definition is active")
        break
    time.sleep(2)""",
    # 3.2: `items = [...]` is taken from the seed by items_cell()
    """human_loops_started = []

for item in items:
    print(f'Processing item: "{item}"')

    humanLoopName = str(uuid.uuid4())
    inputContent = {"taskObject": item}
    start_loop_response = a2i.start_human_loop(
        HumanLoopName=humanLoopName,
        FlowDefinitionArn=augmented_ai_flow_definition_arn,
        HumanLoopInput={"InputContent": json.dumps(inputContent)},
    )
    human_loops_started.append(humanLoopName)
    
    print(f"*** ==> Starting human loop with name: {humanLoopName}  \\n")""",
    # 3.3
    """completed_human_loops = []
for human_loop_name in human_loops_started:
    resp = a2i.describe_human_loop(HumanLoopName=human_loop_name)
    print(f"HumanLoop Name: {human_loop_name}")
    print(f'HumanLoop Status: {resp["HumanLoopStatus"]}')
    print(f'HumanLoop Output Destination: {resp["HumanLoopOutput"]}')
    print("")

    if resp["HumanLoopStatus"] == "Completed":
        completed_human_loops.append(resp)""",
    # 3.4
    """workteam_name = augmented_ai_workteam_arn[augmented_ai_workteam_arn.rfind("/") + 1 :]
print(workteam_name)
print("Navigate to the private worker portal and complete the human loop.")
print("Make sure you have invited yourself to the workteam and received the signup email.")
print("Note:  Check your spam filter if you have not received the email.")
print("")
print("https://" + sagemaker.describe_workteam(WorkteamName=workteam_name)["Workteam"]["SubDomain"])""",
    # 3.5 (the workers answer while this cell waits)
    """completed_human_loops = []
for human_loop_name in human_loops_started:
    resp = a2i.describe_human_loop(HumanLoopName=human_loop_name)
    print(f"HumanLoop Name: {human_loop_name}")
    print(f'HumanLoop Status: {resp["HumanLoopStatus"]}')
    print(f'HumanLoop Output Destination: {resp["HumanLoopOutput"]}')
    print("")
    while resp["HumanLoopStatus"] != "Completed":
        print(f"Waiting for HumanLoop to complete.")
        time.sleep(10)
        resp = a2i.describe_human_loop(HumanLoopName=human_loop_name)
    if resp["HumanLoopStatus"] == "Completed":
        completed_human_loops.append(resp)
        print(f"Completed!")
        print("")""",
    # 3.6 / 4: reading the labels back from S3
    """import re
from pprint import pprint

human_feedback_items = []

for resp in completed_human_loops:
    human_feedback_s3_uri = resp["HumanLoopOutput"]["OutputS3Uri"]
    split_string = re.split("s3://" + bucket + "/", resp["HumanLoopOutput"]["OutputS3Uri"])
    key = split_string[1]
    
    response = s3.get_object(Bucket=bucket, Key=key)
    content = response["Body"].read().decode("utf-8")
    json_output = json.loads(content)

    prompt = json_output["inputContent"]['taskObject']['prompt']
    responses = json_output["inputContent"]['taskObject']['responses']
    response_1_ranking = json_output["humanAnswers"][0]["answerContent"]['response_1_ranking']
    response_2_ranking = json_output["humanAnswers"][0]["answerContent"]['response_2_ranking']
    response_3_ranking = json_output["humanAnswers"][0]["answerContent"]['response_3_ranking']
    
    human_feedback_item_1 = (prompt, responses[0], response_1_ranking)
    human_feedback_items.append(human_feedback_item_1)
    human_feedback_item_2 = (prompt, responses[1], response_2_ranking)
    human_feedback_items.append(human_feedback_item_2)
    human_feedback_item_3 = (prompt, responses[2], response_3_ranking)
    human_feedback_items.append(human_feedback_item_3)""",
]

IMPORTS = "import json\nimport uuid\nimport time\nimport uuid\nimport boto3\n"


def seed_text() -> str:
    return SEED.read_text()


def template_cell() -> str:
    text = seed_text()
    start = text.index('template = r"""')
    end = text.index('"""', start + len('template = r"""')) + 3
    return text[start:end]


def items_cell() -> str:
    text = seed_text()
    start = text.index("items = [\n")
    end = text.index("\n]\n", start) + 2
    return text[start:end]


def program(sdk: bool = False) -> list[str]:
    """The cells in notebook order, ready to exec one after another in one namespace. sdk: section 2 runs
    through the SageMaker SDK with the changes docs/notebook.md gives (sdk_session_cell), not PRELUDE."""
    head = [sdk_session_cell()] if sdk else [IMPORTS, PRELUDE, CELLS[0]]
    return [*head, *CELLS[1:3], template_cell(), *CELLS[3:6], items_cell(), *CELLS[6:]]


# docs/notebook.md, "What changes": the two SageMaker SDK lines that need AWS itself, and their stand-ins.
SDK_CHANGES = [
    ("sess = sagemaker.Session()", "sess = sagemaker.Session(default_bucket=BUCKET)"),
    ("role = sagemaker.get_execution_role()", "role = ROLE"),
]


def with_sdk_changes(cell: str) -> str:
    for before, after in SDK_CHANGES:
        assert cell.count(before) == 1, before
        cell = cell.replace(before, after)
    return cell


def sdk_session_cell() -> str:
    """Section 2's cell as the seed has it (imports, the SageMaker SDK session, the boto3 clients), with only
    SDK_CHANGES applied."""
    text = seed_text()
    start = text.index("import json\n", text.index("## 2 - Load Sagemaker Dependencies"))
    last = 's3 = boto3.client("s3", region)'
    return with_sdk_changes(text[start : text.index(last, start) + len(last)])


def seed_cell(text: str, number: int, last_line: str) -> str:
    """The code of cell `In [number]:` of a seed that numbers its cells, up to and including last_line."""
    start = text.index(f"In [{number}]:\n") + len(f"In [{number}]:\n")
    return text[start : text.index(last_line, start) + len(last_line)]


# The Korean seed (tests/data/seeds/a2i-ranking-notebook-ko.txt) numbers its cells: the ones that call AWS, each
# up to its last line of code (what follows is the output the notebook recorded). Cell 1 checks the machine's
# memory (psutil), cell 5 prints a link to the AWS console, cells 11-13 are IPython magics (%store, %%html).
KO_CELLS = [
    (2, "region = boto3.Session().region_name"),
    (3, 's3 = boto3.client("s3", region)'),
    (4, "print(output_path)"),
    (6, "print(augmented_ai_workteam_arn)"),
    (7, '</crowd-form>\n"""'),
    (8, "print(human_task_ui_arn)"),
    (9, 'augmented_ai_flow_definition_arn = create_workflow_definition_response["FlowDefinitionArn"]'),
    (10, "    time.sleep(2)"),
]


def program_ko() -> list[str]:
    text = SEED_KO.read_text()
    cells = [seed_cell(text, number, last) for number, last in KO_CELLS]
    return [with_sdk_changes(cells[0]), *cells[1:]]

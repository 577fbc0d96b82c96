"""The Ground Truth built-in task types (spec ground-truth-api.md §9) and how a job's type is inferred.

CreateLabelingJob has no task-type member: the type is the `<Type>` in the built-in Lambda names
`arn:aws:lambda:<region>:<account>:function:PRE-<Type>` / `…:ACS-<Type>`, or the name of a built-in
human task UI (`arn:aws:sagemaker:<region>:394669845002:human-task-ui/<Name>`). Any region and any account
is accepted for the Lambdas (self-hosted regions have no AWS account table); the UI must be AWS's account.

Inference (`infer_task_type`), the permissive reading of the docs:

* PRE and ACS name the same built-in type → that type;
* one is built-in and the other is a custom Lambda (or absent) → the built-in one's type;
* two *different* built-in types → InvalidInput;
* a built-in UI (NER, video, 3D) agrees with a built-in Lambda type when both belong to the same family
  (`VideoObjectDetection` fits `AdjustmentVideoObjectDetection`); a different family → InvalidInput;
  with custom Lambdas the UI alone decides;
* nothing built-in → None: a custom job.

`supported` is False for the types crowdloop does not consolidate yet: video frame (object detection and
tracking) and 3D point cloud; video classification is single-label classification of a video. Semantic
segmentation and its adjustment are supported when the `segmentation` extra (Pillow, numpy) is installed
(`segmentation.available()`; CreateLabelingJob checks it). Verification of segmentation needs no extra: its
answer is a classifier judgement, not a mask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from crowdloop.errors import InvalidInput


class TaskType(StrEnum):
    """The `<Type>` of `PRE-<Type>` / `ACS-<Type>`; the value is that name, verbatim."""

    BOUNDING_BOX = "BoundingBox"
    IMAGE_MULTI_CLASS = "ImageMultiClass"
    IMAGE_MULTI_CLASS_MULTI_LABEL = "ImageMultiClassMultiLabel"
    SEMANTIC_SEGMENTATION = "SemanticSegmentation"
    TEXT_MULTI_CLASS = "TextMultiClass"
    TEXT_MULTI_CLASS_MULTI_LABEL = "TextMultiClassMultiLabel"
    NAMED_ENTITY_RECOGNITION = "NamedEntityRecognition"
    VIDEO_MULTI_CLASS = "VideoMultiClass"
    VIDEO_OBJECT_DETECTION = "VideoObjectDetection"
    VIDEO_OBJECT_TRACKING = "VideoObjectTracking"
    POINT_CLOUD_OBJECT_DETECTION = "3DPointCloudObjectDetection"
    POINT_CLOUD_OBJECT_TRACKING = "3DPointCloudObjectTracking"
    POINT_CLOUD_SEMANTIC_SEGMENTATION = "3DPointCloudSemanticSegmentation"
    VERIFICATION_BOUNDING_BOX = "VerificationBoundingBox"
    VERIFICATION_SEMANTIC_SEGMENTATION = "VerificationSemanticSegmentation"
    ADJUSTMENT_BOUNDING_BOX = "AdjustmentBoundingBox"
    ADJUSTMENT_SEMANTIC_SEGMENTATION = "AdjustmentSemanticSegmentation"
    ADJUSTMENT_VIDEO_OBJECT_DETECTION = "AdjustmentVideoObjectDetection"
    ADJUSTMENT_VIDEO_OBJECT_TRACKING = "AdjustmentVideoObjectTracking"
    ADJUSTMENT_POINT_CLOUD_OBJECT_DETECTION = "Adjustment3DPointCloudObjectDetection"
    ADJUSTMENT_POINT_CLOUD_OBJECT_TRACKING = "Adjustment3DPointCloudObjectTracking"
    ADJUSTMENT_POINT_CLOUD_SEMANTIC_SEGMENTATION = "Adjustment3DPointCloudSemanticSegmentation"
    PASS_THROUGH = "PassThrough"


@dataclass(frozen=True)
class TaskTypeInfo:
    task_type: TaskType
    output_type: str | None  # the metadata "type" it writes; None where AWS documents none
    label_ref: bool  # the LabelAttributeName must end with "-ref"
    supported: bool  # crowdloop consolidates it


T = TaskType
_ROWS: tuple[tuple[TaskType, str | None, bool, bool], ...] = (
    (T.BOUNDING_BOX, "groundtruth/object-detection", False, True),
    (T.IMAGE_MULTI_CLASS, "groundtruth/image-classification", False, True),
    (T.IMAGE_MULTI_CLASS_MULTI_LABEL, "groundtruth/image-classification-multilabel", False, True),
    (T.SEMANTIC_SEGMENTATION, "groundtruth/semantic-segmentation", True, True),  # with the extra
    (T.TEXT_MULTI_CLASS, "groundtruth/text-classification", False, True),
    (T.TEXT_MULTI_CLASS_MULTI_LABEL, "groundtruth/text-classification-multilabel", False, True),
    (T.NAMED_ENTITY_RECOGNITION, "groundtruth/text-span", False, True),
    # "classification format" [doc]; the type string is undocumented: ours follows the image/text ones
    (T.VIDEO_MULTI_CLASS, "groundtruth/video-classification", False, True),
    (T.VIDEO_OBJECT_DETECTION, "groundtruth/video-object-detection", True, False),
    (T.VIDEO_OBJECT_TRACKING, "groundtruth/video-object-tracking", True, False),
    # The model doc leaves 3D object detection (and its adjustment) out of the "-ref" list.
    (T.POINT_CLOUD_OBJECT_DETECTION, "groundtruth/point_cloud_object_detection", False, False),
    (T.POINT_CLOUD_OBJECT_TRACKING, "groundtruth/point_cloud_object_tracking", True, False),
    (T.POINT_CLOUD_SEMANTIC_SEGMENTATION, "groundtruth/point_cloud_single_frame_semantic_segmentation", True, False),
    (T.VERIFICATION_BOUNDING_BOX, "groundtruth/label-verification", False, True),
    (T.VERIFICATION_SEMANTIC_SEGMENTATION, "groundtruth/label-verification", False, True),
    (T.ADJUSTMENT_BOUNDING_BOX, "groundtruth/object-detection", False, True),
    (T.ADJUSTMENT_SEMANTIC_SEGMENTATION, "groundtruth/semantic-segmentation", True, True),  # with the extra
    (T.ADJUSTMENT_VIDEO_OBJECT_DETECTION, "groundtruth/video-object-detection", True, False),
    (T.ADJUSTMENT_VIDEO_OBJECT_TRACKING, "groundtruth/video-object-tracking", True, False),
    (T.ADJUSTMENT_POINT_CLOUD_OBJECT_DETECTION, "groundtruth/point_cloud_object_detection", False, False),
    (T.ADJUSTMENT_POINT_CLOUD_OBJECT_TRACKING, "groundtruth/point_cloud_object_tracking", True, False),
    (
        T.ADJUSTMENT_POINT_CLOUD_SEMANTIC_SEGMENTATION,
        "groundtruth/point_cloud_single_frame_semantic_segmentation",
        True,
        False,
    ),
    (T.PASS_THROUGH, "groundtruth/custom", False, True),  # our choice: written like a custom job's metadata
)
INFO: dict[TaskType, TaskTypeInfo] = {row[0]: TaskTypeInfo(*row) for row in _ROWS}

# The built-in human task UIs (UiConfig.HumanTaskUiArn, spec §9.3) and the task type each one serves.
BUILTIN_UI_TYPES: dict[str, TaskType] = {
    "NamedEntityRecognition": T.NAMED_ENTITY_RECOGNITION,
    "PointCloudObjectDetection": T.POINT_CLOUD_OBJECT_DETECTION,
    "PointCloudObjectTracking": T.POINT_CLOUD_OBJECT_TRACKING,
    "PointCloudSemanticSegmentation": T.POINT_CLOUD_SEMANTIC_SEGMENTATION,
    "VideoObjectDetection": T.VIDEO_OBJECT_DETECTION,
    "VideoObjectTracking": T.VIDEO_OBJECT_TRACKING,
}
BUILTIN_UI_ACCOUNT = "394669845002"

_LAMBDA_ARN = re.compile(r"arn:aws[a-z\-]*:lambda:[a-z0-9\-]*:[0-9]{12}:function:([^:]+)(?::[^:]+)?")
_UI_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:([0-9]{12}):human-task-ui/(.+)")
_BY_NAME = {t.value: t for t in TaskType}

PRE_FIELD = "humanTaskConfig.preHumanTaskLambdaArn"
ACS_FIELD = "humanTaskConfig.annotationConsolidationConfig.annotationConsolidationLambdaArn"
UI_FIELD = "humanTaskConfig.uiConfig.humanTaskUiArn"


def lambda_task_type(arn: str, prefix: Literal["PRE", "ACS"]) -> TaskType | None:
    """The built-in type a Lambda ARN names (`…:function:PRE-BoundingBox` → BOUNDING_BOX), or None for any
    other function (a custom Lambda). Region and account are not checked; a version or alias qualifier
    after the name is ignored."""
    match = _LAMBDA_ARN.fullmatch(arn)
    if not match:
        return None
    head, dash, type_name = match.group(1).partition("-")
    if head != prefix or not dash:
        return None
    return _BY_NAME.get(type_name)


def builtin_ui_task_type(human_task_ui_arn: str) -> TaskType | None:
    """The type a built-in human task UI serves, or None for a UI made with CreateHumanTaskUi."""
    match = _UI_ARN.fullmatch(human_task_ui_arn)
    if not match or match.group(1) != BUILTIN_UI_ACCOUNT:
        return None
    return BUILTIN_UI_TYPES.get(match.group(2))


def family(task_type: TaskType) -> str:
    """The base type an adjustment or verification type works on (`AdjustmentVideoObjectTracking` →
    `VideoObjectTracking`); the type itself otherwise. 3D UIs are named without the "3D" prefix."""
    name = task_type.value.removeprefix("Adjustment").removeprefix("Verification")
    return name.removeprefix("3D")


def infer_task_type(pre_arn: str | None, acs_arn: str | None, ui_arn: str | None) -> TaskType | None:
    """The job's task type from its two Lambda ARNs and its human task UI ARN (rules in the module
    docstring); None for a custom job."""
    pre = lambda_task_type(pre_arn, "PRE") if pre_arn else None
    acs = lambda_task_type(acs_arn, "ACS") if acs_arn else None
    if pre is not None and acs is not None and pre != acs:
        raise InvalidInput(
            f"The pre-annotation Lambda {pre_arn} is for {pre.value} tasks but the annotation consolidation "
            f"Lambda {acs_arn} is for {acs.value} tasks: both must name the same task type.",
            ACS_FIELD,
        )
    from_lambdas = pre or acs
    from_ui = builtin_ui_task_type(ui_arn) if ui_arn else None
    if from_lambdas is not None and from_ui is not None and family(from_lambdas) != family(from_ui):
        raise InvalidInput(
            f"The human task UI {ui_arn} is for {from_ui.value} tasks, not for the {from_lambdas.value} tasks "
            "its Lambdas name.",
            UI_FIELD,
        )
    return from_lambdas or from_ui

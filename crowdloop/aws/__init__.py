"""The AWS protocol layer: SageMaker (awsJson1_1), A2I runtime (restJson1), read-only S3 and STS.

Entry point for the root app: `crowdloop.aws.app.AwsApi` (ASGI); crowdloop.dispatch decides which requests
are AWS API calls.
Handler registries live in `crowdloop.aws.sagemaker` / `crowdloop.aws.a2i_runtime` (`OPERATIONS`).
"""

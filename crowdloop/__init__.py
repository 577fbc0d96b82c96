"""crowdloop: a self-hosted human review service compatible with Amazon A2I and SageMaker Ground Truth."""

__version__ = "0.1.0"

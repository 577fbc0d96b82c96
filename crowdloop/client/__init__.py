"""The Python client for notebooks (docs/python.md): crowdloop.Client, crowdloop.local(), Job."""

from crowdloop.client.client import Client, JobSetupError
from crowdloop.client.job import Job, Progress
from crowdloop.client.local import LocalClient, LocalServerError, local

__all__ = ["Client", "Job", "JobSetupError", "LocalClient", "LocalServerError", "Progress", "local"]

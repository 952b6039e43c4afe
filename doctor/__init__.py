"""runner-doctor: preflight checks for Bitbucket Pipelines self-hosted runners."""

__version__ = "0.1.0"

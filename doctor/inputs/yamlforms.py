"""Which YAML form a text is, told without importing a YAML parser (the readers import these).

The Kubernetes, autoscaler and pipelines readers parse YAML; detecting them from a text is a few
regular expressions, kept here so that checking a shell script does not import PyYAML.
"""

from __future__ import annotations

import re


def kubernetes(text: str) -> bool:
    """YAML with top-level ``apiVersion:`` and ``kind:`` (a manifest, a List, kustomize output).

    A script that writes manifests with a heredoc (``#!/bin/sh``, ``cat > job.yaml <<EOF``) is a script.
    """
    if text.lstrip().startswith("#!"):
        return False
    return bool(re.search(r"^apiVersion\s*:", text, re.M) and re.search(r"^kind\s*:", text, re.M))


def autoscaler(text: str) -> bool:
    """A top-level ``groups:`` whose entries have a strategy, workspace or parameters (not in a script)."""
    return not text.lstrip().startswith("#!") and bool(re.search(r"^groups\s*:", text, re.M)
                and re.search(r"^[ \t]*(-[ \t]+)?(strategy|workspace|parameters)[ \t]*:", text, re.M))


def pipelines(text: str) -> bool:
    """A top-level ``pipelines:`` (not in a script that writes the file)."""
    return not text.lstrip().startswith("#!") and bool(re.search(r"^pipelines\s*:", text, re.M))


# in detection order, by the readers' FORM
LOOKS_LIKE = {"kubernetes": kubernetes, "autoscaler": autoscaler, "pipelines": pipelines}

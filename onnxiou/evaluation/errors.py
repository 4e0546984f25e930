"""The error that stops an evaluation run because of its inputs."""

from __future__ import annotations


class EvaluationError(ValueError):
    """A missing, unreadable or mismatched input file, or an invalid option.

    The message is one line that names the file or option and, where there
    is one, the fix. ``onnxiou evaluate`` prints it and exits with code 2.
    """

"""Evaluate folders of predicted masks against ground-truth label maps.

Each part of ``onnxiou evaluate`` has its own module:

- :mod:`.readers` reads label maps, predictions and class names.
- :mod:`.pairing` matches label and prediction files by stem.
- :mod:`.shapes` distinguishes label maps from class scores and checks shapes.
- :mod:`.flags` validates the metric flags, and :mod:`.options` builds the metric.
- :mod:`.runner` counts the files, and :mod:`.progress` records which are done.
- :mod:`.findings` finds dropped and fractional values, and :mod:`.messages`
  words the warnings and ``--strict`` errors about them.
- :mod:`.checkpoint` saves and restores a run, and :mod:`.checkpoint_schema`
  checks the keys and types of a checkpoint read from disk.
- :mod:`.interrupts` turns SIGINT and SIGTERM into a stop request.
- :mod:`.progress_bar` draws the progress bar on a terminal.
- :mod:`.sample` locates the bundled sample.
- :mod:`.report` builds the JSON report and the table.
"""

from onnxiou.evaluation.errors import EvaluationError

__all__ = ["EvaluationError"]

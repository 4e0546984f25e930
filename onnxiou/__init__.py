"""The Keras IoU metrics as portable ONNX graphs.

``IoU``, ``BinaryIoU``, ``OneHotIoU``, ``OneHotMeanIoU`` and ``MeanIoU``
take Keras's constructor arguments and offer ``update_state``, ``result``,
``reset_state`` and ``get_config``; each runs ONNX graphs in onnxruntime.
"""

from onnxiou._metric import FractionalValueWarning
from onnxiou._version import __version__
from onnxiou.metrics import METRICS, BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU

__all__ = [
    "FractionalValueWarning",
    "METRICS",
    "BinaryIoU",
    "IoU",
    "MeanIoU",
    "OneHotIoU",
    "OneHotMeanIoU",
    "__version__",
]

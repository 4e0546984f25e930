"""The README's Python example runs and prints the values its comments give."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert blocks
    exec(compile(blocks[0], str(README), "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    # cm = [[1, 0, 0], [0, 0, 1], [0, 0, 0]]: iou = [1, 0, 0] over 3 classes
    assert abs(float(lines[0]) - 1 / 3) < 1e-7
    assert lines[-1] == "1.0 0.0"

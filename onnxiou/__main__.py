"""Run the command line as ``python -m onnxiou``."""

from onnxiou.cli import main

if __name__ == "__main__":
    raise SystemExit(main())

"""Run the command line as ``python -m onnxiou.cli``."""

from onnxiou.cli import main

raise SystemExit(main())

"""``python -m kgtool ...`` (and ``torchrun -m kgtool ...``) runs the ``kgtool`` command."""

from kgtool.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())

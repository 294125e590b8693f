"""``python -m perfgate``: the same command as ``perfgate``."""

from perfgate.cli import main

if __name__ == "__main__":
    main()

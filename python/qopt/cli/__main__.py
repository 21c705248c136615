"""``python -m qopt.cli``: the ``qopt`` command line."""
import sys

from qopt.cli import main

sys.exit(main())

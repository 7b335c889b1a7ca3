"""``python -m grader.cli ARGS``: the ``grader`` command."""

import sys

from grader.cli import main

sys.exit(main())

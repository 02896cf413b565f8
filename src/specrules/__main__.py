"""`python -m specrules`."""

import sys

from specrules.cli import main

sys.exit(main())

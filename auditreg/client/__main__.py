"""`python -m auditreg.client`, the same as the `auditreg` command."""

import sys

from auditreg.client.cli import main

sys.exit(main())

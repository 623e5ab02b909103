"""Lets `python -m corral` run the command line."""

import sys

from corral.cli.main import main

sys.exit(main())

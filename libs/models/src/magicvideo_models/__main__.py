"""`python -m magicvideo_models …`: the model tools of cli.py."""

import sys

from .cli import main

sys.exit(main())

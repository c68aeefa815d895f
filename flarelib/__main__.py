import sys

from flarelib.cli import main

sys.exit(main())

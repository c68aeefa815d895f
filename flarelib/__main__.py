import sys

from flarelib.compendium.cli import main

sys.exit(main())

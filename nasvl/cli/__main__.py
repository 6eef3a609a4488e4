import sys

from nasvl.cli import main

sys.exit(main())

import sys

from lrtui.cli import main

sys.exit(main())

import sys

from lrtui.bench.report import main

sys.exit(main())

import sys

from tinycore.cli.tool import main

sys.exit(main())

"""`python -m crawler.cli`: the same as the `vigil` console script."""

from crawler.cli.main import main

main()

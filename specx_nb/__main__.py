"`python -m specx_nb` runs the `specx-nb` command (see `specx_nb.cli`, exported from nbs/15_cli.ipynb)."
from specx_nb.cli import main

if __name__ == "__main__": raise SystemExit(main())

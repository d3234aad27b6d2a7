"""One module per `python -m choreograph <command>`; see `cli.py` for the contract."""

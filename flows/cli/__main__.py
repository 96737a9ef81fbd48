"""``python -m flows.cli``: the same as the ``insight`` command."""

from flows.cli.app import main

main()

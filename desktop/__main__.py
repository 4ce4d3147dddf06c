"""``python -m desktop`` is the ``attachments`` command."""

from desktop.cli import main

main()

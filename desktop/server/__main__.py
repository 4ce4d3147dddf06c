"""``python -m desktop.server``: the same as ``attachments serve``, importing only the server."""

from desktop.server.command import serve

serve()

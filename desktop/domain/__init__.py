"""Pure domain: upload states, events, transitions and the store. This is a Qt-free zone (no I/O)."""

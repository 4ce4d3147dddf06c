"""Pure domain: upload states, events, transitions and the store. A Qt-free zone, with no I/O."""

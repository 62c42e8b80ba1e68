"""Source readers: one module per kind of system, each with the same shape."""

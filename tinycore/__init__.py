"""tinycore: the shared TinyML core (spec, quant, ir, runtime, memory, export)."""

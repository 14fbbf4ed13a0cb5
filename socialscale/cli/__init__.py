"""The command-line interface: one module per command group; each parses, calls core, renders."""

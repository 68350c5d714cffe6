"""Command-line tools: dsctl (the client) and ctrlplane (serve, agent, bench)."""

"""Recorded real traffic (`gtm-synth record`, stage 7): episodes planned over a real MCP server's
tools, each run against a fresh real world, every output stored exactly as the server returned it.
tau-bench's real stateful tools are served by an MCP wrapper (`synthesis.record.tau_server`), so one
recorder handles both."""

"""Shared parts of the help desk: the contract, config, dependency providers, the CLI."""

"""The ticket core: the source of truth for tickets, messages, departments, agents, customers."""

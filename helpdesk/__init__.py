"""Shared parts of the help desk: the contract, config, dependency providers, the CLI."""
import warnings

# nameko 2.14 is built on eventlet (fixed by the design); its deprecation notice on every
# start of every process and command says nothing an operator can act on.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

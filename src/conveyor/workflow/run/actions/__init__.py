"""Resolves `uses:` references and runs actions: composite, node, docker and built-ins."""

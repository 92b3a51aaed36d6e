"""Executes a plan: scheduler, jobs, steps, environment files, workflow commands, masking."""

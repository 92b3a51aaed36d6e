"""Conveyor: commit to running service.

CI runs GitHub Actions workflow files (`conveyor.workflow`), promotion records images in a
Git config repo (`conveyor.promote`), and a pull-based reconciler makes every environment
match it (`conveyor.reconcile`). `conveyor.app` wires them together; see DESIGN.md.
"""

__version__ = "0.1.0"

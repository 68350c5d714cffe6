"""The controller: pure decisions (reconcile, rollout) and the async loop around them."""

from ctrlplane.controller.decisions import Decision, ReconcileResult
from ctrlplane.controller.reconcile import reconcile
from ctrlplane.controller.scope import work_for

__all__ = ["Decision", "ReconcileResult", "reconcile", "work_for"]

"""ctrlplane: a DaemonSet control plane built on an append-only event log."""

__version__ = "0.1.0"

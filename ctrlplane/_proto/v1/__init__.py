"""Generated code for ctrlplane.v1."""

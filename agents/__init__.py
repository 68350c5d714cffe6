"""Node agents: hold a stream to the plane, run the assigned pods, report back."""

"""The pure core: manifests, selectors, scheduling rules, revisions, state.

No asyncio, no clock, no I/O. Time comes in as an argument.
"""

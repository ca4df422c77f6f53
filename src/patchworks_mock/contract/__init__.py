"""The contract suite: check the mock, or any server by URL, against the Packages contract.

`patchworks-mock check` runs three kinds of test against one target and reports them together:
schema-driven (Schemathesis), domain properties (Hypothesis) and a model-based state machine.
"""

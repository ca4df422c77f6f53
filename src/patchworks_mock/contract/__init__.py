"""The contract suite: check the mock, or any server by URL, against the Packages contract.

`patchworks-mock check` runs three kinds of test against one target and reports them together:
schema-driven (Schemathesis), domain properties (Hypothesis) and a model-based state machine.

The suite keeps its own copies of the contract's rules, on purpose: it judges other servers as
well as the mock, so it must not take a rule from the mock's code (a rule wrong in the mock would
then be wrong in its judge too). The copies are in `rules.py`: PHP's trim characters and what
Laravel keeps of a trimmed string, the longest package name, the default flow-version priority,
the id that names nothing, and the body of a 401; `rules.py` also names the variable the key is
read from, `$PATCHWORKS_API_KEY`. The other rules are the contract file itself, or written in
the property or model rule that checks them. Of the rest of `patchworks_mock` the suite uses
only the path of the contract file (`bundled`), the CLI's helpers (`cli_common`), and what
starts the mock in-process (`target.py`).
"""

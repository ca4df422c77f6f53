"""The contract suite: check the mock, or any server by URL, against the Packages contract.

`patchworks-mock check` runs three suites against one target and reports them together:
schema-driven (Schemathesis), domain properties (Hypothesis; `limits_enforced` among them) and
a model-based state machine. Every answer any of them gets is also judged by the shared checks
of `checks.py` (plain functions of one exchange and what the run saw before, so that a proxy
can run them on live traffic too).

The suite keeps its own copies of the contract's rules, on purpose: it judges other servers as
well as the mock, so it must not take a rule from the mock's code (a rule wrong in the mock
would then be wrong in its judge too). The copies are in `rules.py` (PHP's trim characters,
the longest name, the default priority, Laravel's timestamp form, model names and messages,
how PHP reads an integer, ...); the limits and the response schemas are read from the
contract file itself (`contract_file.py`). Of the rest of `patchworks_mock` the suite uses
only the path of the contract file (`bundled`), the CLI's helpers and the name of the key
variable (`cli_common`), and what starts the mock in-process (`target.py`).
"""

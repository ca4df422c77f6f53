"""Fixture documents: the mock's whole state as one JSON object of record lists.

A fixture document holds `users`, `flows`, `flow_versions`, `virtual_environments` and
`packages` (required), and `deployments` and `flow_version_deployments` (optional), in the
format of `fixtures/schema.json`; beyond the schema, its records must keep the references and
domain rules the store keeps. This package checks, loads, writes, makes and captures them
(`patchworks_mock.fixtures` and `patchworks_mock.strategies` re-export it under the names the
README documents):

    rules.py        the one table of the rules between records: references, domain rules
    checking.py     the schema and rule checks: `problems`, `check`, `FixtureError`; the rule
                    checks, a fast one and a slow one that places problems, come from rules.py
    loading.py      read and parse files, build a `Store`, `Document`, `FixtureFile`, `dump`
    json_output.py  `to_json`, `write_json`: one record per line, the same bytes every time
    generate.py     seeded, realistic documents of any size
    strategies.py   Hypothesis strategies for records and whole documents
    export.py       rebuild a document from what a real server lists (GETs only)
    commands.py     `patchworks-mock fixtures validate|generate|export`
"""

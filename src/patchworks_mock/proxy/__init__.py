"""`patchworks-mock proxy`: a real client's traffic to a real server, checked against the
contract on its way through, and recorded."""

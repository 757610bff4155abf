"""The customer's side of the gateway: HTML pages reached from the help desk's mail, with no
login (a signed link is the customer's permission)."""

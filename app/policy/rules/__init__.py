"""The policy rules, one module each; `app.policy.registry` lists them in contract order."""

"""The registry's use cases, one module an aggregate (as Zulip's zerver/actions): `versions`
(models, versions, their stages and corrections), `signatures` (signing, requests for
changes), `authorizations` (use cases, proposals, rollbacks), `policies` and `monitoring`.

Every write is one service call: it checks who is acting and the rules
(`auditreg.registry.rules`), appends the ledger entries that record the facts, and applies
them to the registry's tables through the projection, all in one transaction. Rule violations
raise DomainError with a reason a person can act on, and change nothing (except refused
signing attempts, which are themselves recorded, 21 CFR 11.300(d)). Reads are in
`auditreg.registry.selectors`.
"""

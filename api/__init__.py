"""The GraphQL layer shared by the apps' schema modules, and the service schema's machinery.

- `errors`: `ClientError` (a message meant for the client, with a code in `extensions.code`) and the
  rule for which errors a client may read; every other error is masked.
- `ids`: database ids from ID arguments (plain or Relay global ids).
- `payloads`: a service's rejected items as the app's typed payload errors.
- `permissions`: `staff_with_perm`, the one rule for "staff with permission P", as field extensions
  and as a check in code.
- `connections`: list connections capped at `GRAPHQL_MAX_PAGE_SIZE`; `totalCount` by `COUNT(*)`.
- `limits`: what one request may ask for (depth, aliases, cost, fields per selection), measured in
  one pass with each fragment once.
- `guard`: `QueryGuard`, a request's way from text to verdict (length, tokens, the limits, validation,
  introspection and suggestions), through a cache bounded in bytes; variables capped.
- `budget`: PostgreSQL's statement_timeout for the length of a GraphQL request.
- `http`: GraphQL over HTTP (`application/graphql-response+json`), GraphiQL by setting.
- `logs`: failed requests logged with operation name and code, never query text or variables.
- `types`: one app's fields on another app's type (segments' fields on behavior's Customer).
- `build`: the service schema from the root Query and Mutation, on the fast path or the stock one
  (`GRAPHQL_FAST_PATH`).
- `fast`: the speed layer (docs/performance.md). It relies on internals of strawberry,
  strawberry-django and graphql-core; `GRAPHQL_FAST_PATH=false` runs the stock path without it.
- `views`: the HTTP endpoint (CSRF where a session could be abused).
"""

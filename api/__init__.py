"""The GraphQL layer shared by the apps' schema modules, and the service schema's machinery.

- `errors`: `ClientError` (a message meant for the client, with a code in `extensions.code`) and the
  rule for which errors a client may read; every other error is masked.
- `ids`: database ids from ID arguments (plain or Relay global ids).
- `payloads`: a service's rejected items as the app's typed payload errors.
- `permissions`: `staff_with_perm`, the one rule for "staff (or an API key whose scopes grant it) with
  permission P", as field extensions and as a check in code.
- `connections`: list connections capped at `GRAPHQL_MAX_PAGE_SIZE`; `totalCount` by `COUNT(*)`.
- `limits`: depth and alias limits as cacheable validation rules.
- `types`: one app's fields on another app's type (segments' fields on behavior's Customer).
- `build`: the service schema from the root Query and Mutation, on the fast path or the stock one
  (`GRAPHQL_FAST_PATH`).
- `fast`: the speed layer (docs/performance.md). It relies on internals of strawberry,
  strawberry-django and graphql-core; `GRAPHQL_FAST_PATH=false` runs the stock path without it.
- `views`: the HTTP endpoint (CSRF where a session could be abused).
- `bearer`: `Authorization: Bearer` (API keys, customer tokens: access/) as the request's user.
"""

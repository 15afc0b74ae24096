"""The speed layer: per-request and per-field costs of the GraphQL layer cut without changing answers.

- `optimizer.FieldOptimizer`: strawberry-django's optimizer without middleware, hints cached;
- `resolvers.use_fast_resolvers`: cheaper resolvers for plain columns, cached foreign keys, node ids;
- `execution.FastExecutionContext`: rows and related objects completed from a per-request plan;
- `variables`, `arguments`: lists of flat input objects (`ingestEvents`) without per-field machinery;
  `marks.takes_coerced_inputs` is what an app's schema puts on such a resolver.

It relies on internals of the pinned strawberry-graphql, strawberry-graphql-django and graphql-core
(private functions and attributes, graphql-core's `execute_fields`). `api.build.build_schema` imports it
only when settings.GRAPHQL_FAST_PATH is on; off, none of it is loaded (only `marks`, which has no such
dependency) and the schema runs the stock path, which is where an upgrade of those libraries starts.
docs/performance.md has the measurements. This file imports nothing, so that importing `marks` loads
nothing else.
"""

"""The speed layer: per-request and per-field costs of the GraphQL layer cut without changing answers.

- `optimizer.FieldOptimizer`: strawberry-django's optimizer without middleware, hints cached;
- `resolvers.use_fast_resolvers`: cheaper resolvers for plain columns, cached foreign keys, node ids;
- `execution.FastExecutionContext`: rows and related objects completed from a per-request plan;
- `variables`, `arguments`: lists of flat input objects (`ingestEvents`) without per-field machinery.

It relies on internals of the pinned strawberry-graphql, strawberry-graphql-django and graphql-core
(private functions and attributes, graphql-core's `execute_fields`). `api.build.build_schema` uses it
only when settings.GRAPHQL_FAST_PATH is on; off, the schema runs the stock path, which is where an
upgrade of those libraries starts. docs/performance.md has the measurements.
"""

from .arguments import takes_coerced_inputs
from .execution import FastExecutionContext
from .optimizer import FieldOptimizer
from .resolvers import use_fast_resolvers

__all__ = ["FastExecutionContext", "FieldOptimizer", "takes_coerced_inputs", "use_fast_resolvers"]

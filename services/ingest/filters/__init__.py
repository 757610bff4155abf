"""Mail filters: each looks at a parsed mail and its context and returns one decision (or
None), never writing anything. `services.ingest.pipeline` runs them in order."""

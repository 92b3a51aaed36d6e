"""HTTP: the REST API, webhooks, Git smart-HTTP hosting, web UI, /metrics and auth.

Today it holds `githttp` (Git hosting over HTTP through `git http-backend`), a
self-contained component with a start/stop API that the platform server of issue 8 mounts.
Called by `app` (composition) and by tests and benchmarks; holds no engine logic and
imports nothing from `app`.
"""

"""HTTP: the REST API, webhooks, Git smart-HTTP hosting, /metrics and auth (`conveyor server`).

* `main` — `ServerConfig`, `build(config)` (store, key, admin token, CI service, app) and
  `serve(config)` (uvicorn + CI supervisor + local runner pool + optional reconciler);
* `app` — the FastAPI app, error mapping, /healthz, /metrics, authenticated OpenAPI docs;
* `routes_runs`, `routes_config`, `routes_runner`, `routes_git`, `webhooks` — the routes;
* `limits` — the ASGI guard: authentication before any body is read, body caps per route
  class (`--body-limit`);
* `auth` (tokens and roles), `state` (what routes share, the `need(role)` dependency);
* `githttp` — `git http-backend` bridging, also usable alone (`GitHttpServer`) by promote's
  tests and benchmark.

Called by `app` (composition) and by tests; holds no engine logic (the CI service in
`conveyor.ci` does) and imports nothing from `app`.
"""

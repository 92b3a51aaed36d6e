"""Notifications (issue 17): notices from the reconciler and the CI service, routed to
webhooks, Slack and Teams incoming webhooks, email and GitHub commit statuses.

Who calls it: `app/` (the reconciler's composition root) and `server/` (the CI server)
build one `Notifier` each from the `notifications:` section of `conveyor.yaml`
(`notify.config.load_notifications`) and hand its `publish` to the code that emits
`core.notices.Notice` values; `server.ui` lists the delivery attempts. What it owns:
the section's schema (`config`, `destinations`), routing and de-duplication (`routing`),
templates (`templates`), payloads per destination (`payloads`), sending (`senders`,
`email`) and the background delivery with retries and rate limits (`notifier`,
`delivery`). It must not be imported by `ci/` or `reconcile/` (they publish through the
protocol in `core.notices`), and it never stores or logs a secret, a signature or a
webhook URL: attempts are recorded by destination name.
"""

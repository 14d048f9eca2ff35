"""SMS: one-time codes for citizens who sign without EDS, and the outbox that sends them.

- `codes`: the one-time code lifecycle: issue, check, the citizen's limits.
- `outbox`: a message is a row in `sms_messages`, sent by a background job.
- `gateways`: where messages go: the operator's HTTP API, or a plug-in's
  (the sandbox's outbox page).
- `signing`: confirming with an SMS password, for every flow; `pages`: its
  rate limits and password page (the web layer's).

The gateway is built from SMS_GATEWAY by `gateways.init_app`; webapp/jobs/tasks.py
runs the sending job. Without a gateway (SMS_GATEWAY=none) SMS codes are
unavailable and EDS remains.
"""

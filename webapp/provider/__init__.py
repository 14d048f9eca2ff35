"""The service provider's side of an application: handing it over
(delivery), the provider's signed messages coming back (messages, inbox,
and routes for /provider/messages), and the application's lifecycle."""

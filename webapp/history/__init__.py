"""History of Services: the citizen's sent applications and what became of them.

- ``listing``: the list's query (filters, search, keyset pages) and its ETag;
- ``texts``: status labels, timeline details and notifications, rendered in
  the page's language from the stored kind and data;
- ``routes``: the list, the application page, notifications and downloads.

Every route with an identifier (application number, notification id) looks
it up together with the logged-in citizen's IIN: anyone else's is not found.
"""

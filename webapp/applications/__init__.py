"""Request Online: filling in an application, step by step, from a service's definition."""

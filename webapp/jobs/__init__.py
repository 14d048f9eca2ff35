"""Background jobs on Huey: the queue (queue.py) and, in the jobs layer, the task bodies."""

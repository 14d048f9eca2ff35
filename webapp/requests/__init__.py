"""What a citizen sends about an application already sent: withdrawing it,
providing documents, objecting, complaining and reporting a malfunction."""

"""What every package needs and nothing of ours provides: settings, error types, the time zone."""

"""What matters first: sentiment, reach, priority, spikes and share of voice (docs/insight.md)."""

"""Twinprop's reference side: the same concepts with torch.nn, torch.nn.init and
torch.optim, configured to match the textbook (see CONVENTIONS.md). Batch-first."""

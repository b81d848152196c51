"""Adapters that plug the reward service into external trainers (TRL, veRL, OpenRLHF)."""

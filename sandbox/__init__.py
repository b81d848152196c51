"""The code sandbox service: untrusted programs in bubblewrap jails, run by warm forking workers."""

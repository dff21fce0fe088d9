"""The core: settings, the error tree, domain values, principals, the clock and logging. Imports nothing of ours."""

"""Test helpers shipped with the package, for users' own plugins (cf. ``optuna.testing``)."""

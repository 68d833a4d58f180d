"""Deterministic demo data modelled on the 祥和苑 field case (see ``seed.seed_demo``). A plain package, not an app."""

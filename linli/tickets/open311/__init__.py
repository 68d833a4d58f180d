"""Open311 GeoReport v2 under ``/open311/v2/``: the tickets of one community (the jurisdiction) for standard
clients. Public reads show a limited projection (``public.py``); filing needs an API key (``keys.py``)."""

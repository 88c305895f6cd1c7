"""The library behind bench/'s entry points (run.py, profile_subject.py, soak.py); nothing here is
run by hand. ``bench/`` is the import root: the entry points run from there."""

"""The Python face of every command: ``load()`` any detector, and the folder runners of
``predict``, ``promote`` and ``caption``."""

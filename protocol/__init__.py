"""Wire formats of orcrt, sans-IO: SPS, SimpleRemoteEPC frames, msgpack payloads."""

__all__: list[str] = []

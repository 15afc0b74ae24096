"""The randomised split: each member's group is a keyed hash of (campaign seed, customer id).

BLAKE2b of ``"<seed>:<external id>"`` read as a number in [0, 1): the same customer and seed give the
same group on any machine and database (the shop's external id, not a row id), and two campaigns with
different seeds split independently. A member whose number is below the holdout share is CONTROL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

_SCALE = float(2**64)


def unit_hash(seed: int, external_id: str) -> float:
    """The member's number in [0, 1) for this seed."""
    digest = hashlib.blake2b(f"{int(seed)}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def control_mask(seed: int, external_ids: Iterable[str], holdout_share: float) -> np.ndarray:
    """True for the members held out (CONTROL), in the order of ``external_ids``."""
    prefix = f"{int(seed)}:".encode()
    blake2b = hashlib.blake2b
    # The digests joined and read by numpy as big-endian integers: no Python int per member.
    digests = b"".join([blake2b(prefix + str(e).encode(), digest_size=8).digest() for e in external_ids])
    numbers = np.frombuffer(digests, dtype=">u8")
    return (numbers.astype(np.float64) / _SCALE) < float(holdout_share)

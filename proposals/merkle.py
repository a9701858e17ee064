"""Merkle trees as RFC 9162 (Certificate Transparency 2.0) defines them: pure, no Django.

Hashing (RFC 9162 §2.1.1), SHA-256 throughout:

    leaf hash  = SHA-256(0x00 || entry)
    node hash  = SHA-256(0x01 || left || right)
    MTH({})    = SHA-256("")   (the empty tree)

A tree of n leaves splits at k, the largest power of two smaller than n; the root of a tree is
node(MTH(D[0:k]), MTH(D[k:n])). Everything here works on leaf hashes (32-byte strings), so
the log (proposals.transparency) stores each leaf's hash once and never rehashes entries.

- `Frontier`: the right edge of the tree (the hashes of the perfect subtrees that make up a
  tree of `size` leaves, largest first, one per set bit of `size`). Appending a leaf merges
  equal-sized subtrees, as adding one to a binary counter carries, so an append and the new
  root cost O(log n) hashes, whatever the size of the log.
- `inclusion_proof` / `consistency_proof`: PATH and PROOF of RFC 9162 §2.1.3.1 and §2.1.4.1.
- `verify_inclusion` / `verify_consistency`: the verification algorithms of §2.1.3.2 and
  §2.1.4.2, step for step (the step numbers are in the comments). Two cases the RFC leaves
  to the caller are decided as the reference implementation (github.com/transparency-dev/
  merkle, proof/verify.go) decides them: equal sizes are consistent when the proof is empty
  and the roots are equal; a proof from the empty tree is refused as meaningless (the empty
  tree is a prefix of every tree: proposals.transparency.check_consistency says so itself).

Checked in tests/proposals/test_transparency_log.py against transparency-dev/merkle's
published vectors and against the pymerkle package.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose leaves have these hashes (O(n) hashes, no recursion limit)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    frontier = Frontier()
    for hashed in leaf_hashes:
        frontier.append(hashed)
    return frontier.root()


@dataclass
class Frontier:
    """The hashes of the perfect subtrees of a tree of `size` leaves, largest (leftmost)
    first: subtree i covers 2**h leaves for the i-th set bit h of size, from the top."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, hashed_leaf: bytes) -> None:
        """Add one leaf (its leaf hash) on the right: merge while the two rightmost subtrees
        are the same height, which is once per trailing one-bit of the old size."""
        self.hashes.append(hashed_leaf)
        size = self.size
        while size & 1:
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.hashes.append(node_hash(left, right))
            size >>= 1
        self.size += 1

    def root(self) -> bytes:
        """MTH of the whole tree: the subtrees folded from the right (RFC 9162's split puts
        the largest perfect subtree on the left at every level)."""
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result

    def to_hex(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_hex(cls, size: int, hashes: Sequence[str]) -> Frontier:
        frontier = cls(size=size, hashes=[bytes.fromhex(h) for h in hashes])
        if len(frontier.hashes) != size.bit_count():
            raise ValueError(f"a frontier of {size} leaves has {size.bit_count()} hashes")
        return frontier


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    return root(leaves[start:end])


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, from the first `size` leaf hashes."""
    if not 0 <= index < size <= len(leaf_hashes):
        raise ValueError("need 0 <= index < size <= number of leaves")
    proof: list[bytes] = []
    start, end, m = 0, size, index
    # PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, else PATH(m-k, D[k:n]) :
    # MTH(D[0:k]); the path lists the deepest sibling first, so collect and reverse.
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            proof.append(_mth(leaf_hashes, start + k, end))
            end = start + k
        else:
            proof.append(_mth(leaf_hashes, start, start + k))
            start, m = start + k, m - k
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when first is 0 or equal)."""
    if not 0 <= first <= second <= len(leaf_hashes):
        raise ValueError("need 0 <= first <= second <= number of leaves")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    # SUBPROOF(m, D[n], b): m == n gives {} if b else {MTH(D[n])}; otherwise with k the split,
    # m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]); m > k: SUBPROOF(m-k, D[k:n], false) :
    # MTH(D[0:k]).
    while True:
        n = end - start
        if m == n:
            if not whole:
                proof.append(_mth(leaf_hashes, start, end))
            break
        k = _split(n)
        if m <= k:
            proof.append(_mth(leaf_hashes, start + k, end))
            end = start + k
        else:
            proof.append(_mth(leaf_hashes, start, start + k))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


def verify_inclusion(
    index: int, size: int, hashed_leaf: bytes, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` show the leaf with this hash at `index` in the tree of
    `size` leaves whose root is `root_hash`?"""
    if not _hashes_ok([hashed_leaf, root_hash, *proof]):
        return False
    # 1. leaf_index must be smaller than tree_size.
    if not 0 <= index < size:
        return False
    # 2. fn = leaf_index, sn = tree_size - 1.  3. r = hash.
    fn, sn, r = index, size - 1, hashed_leaf
    # 4. For each p in the path:
    for p in proof:
        if sn == 0:  # a. more path than tree
            return False
        if fn & 1 or fn == sn:  # b. p is a left sibling
            r = node_hash(p, r)
            if not fn & 1:  # ii. skip the levels where this node has no right sibling
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5. sn must be 0 and r the root.
    return sn == 0 and r == root_hash


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of `second` leaves with root `second_root` an
    append-only extension of the tree of `first` leaves with root `first_root`?"""
    if not 0 <= first <= second:
        return False
    if first == 0:  # as the reference: a proof from the empty tree is meaningless
        return False
    if first == second:  # not in the RFC's algorithm: as the reference implementation
        return not proof and first_root == second_root
    if not _hashes_ok([first_root, second_root, *proof]):
        return False
    # 1. An empty path fails.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = the first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c:
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:  # ii.
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7. fr must be first_hash, sr second_hash and sn 0.
    return fr == first_root and sr == second_root and sn == 0


def _hashes_ok(values: Sequence[bytes]) -> bool:
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)

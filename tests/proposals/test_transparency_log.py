"""The transparency log (proposals.merkle, proposals.transparency): RFC 9162 hashing and proofs
checked against published vectors and the pymerkle package; random trees; the log kept at
submit and withdrawal; signed heads (the final one made and mailed at opening); the public
pages and JSON; the receipt's inclusion object; and `manage.py verify_log` catching a
backdated leaf and a rewritten history."""

import base64
import json
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from proposals import merkle, receipt_signing, submission, transparency
from proposals.models import LogLeaf, ReceiptSignature, TransparencyLog, TreeHead
from rfp_portal.models import OutboxMessage
from tests.factories import UserFactory
from tests.helpers.proposals import open_now, ready_draft, submitted_proposal

# --- Published vectors -----------------------------------------------------------------------
# From github.com/transparency-dev/merkle at commit 417fb0c314750d94e53942e9f92e79b6d35915db:
# testonly/constants.go (LeafInputs, RootHashes: RFC 6962/9162 hashing of eight leaves) and
# testdata/inclusion/*, testdata/consistency/* (every happy path, and the "additional" and
# "single-entry" edge cases with their expected outcome). Hashes there are base64.
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
ROOT_HASHES = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (name, leaf index, tree size, root, leaf hash, proof, want error)
INCLUSION_VECTORS = [
    (
        "inclusion/0/happy-path",
        0,
        1,
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        (),
        False,
    ),
    (
        "inclusion/1/happy-path",
        0,
        8,
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        (
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ),
        False,
    ),
    (
        "inclusion/2/happy-path",
        5,
        8,
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        "QnGia+DYqE8L1UyMMC58s6O10fpngKQLzOKHNHfatlg=",
        (
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ),
        False,
    ),
    (
        "inclusion/3/happy-path",
        2,
        3,
        "rra8/idLcKFPsGel5VeCZNsPqbUa9eC6FZFY8yngbnc=",
        "ApjRIpBtz8EIkstTpzmS/FufST6kybrbJ7eRtBJ6f+c=",
        ("+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=",),
        False,
    ),
    (
        "inclusion/4/happy-path",
        1,
        5,
        "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=",
        "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
        (
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ),
        False,
    ),
    (
        "inclusion/additional/0/empty-root-and-random-leaf",
        0,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/0/empty-root",
        0,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
        (),
        True,
    ),
    (
        "inclusion/additional/0/random-leaf",
        0,
        0,
        "",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/1/empty-root-and-random-leaf",
        0,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/1/empty-root",
        0,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
        (),
        True,
    ),
    (
        "inclusion/additional/1/random-leaf",
        0,
        1,
        "",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/2/empty-root-and-random-leaf",
        1,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/2/empty-root",
        1,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
        (),
        True,
    ),
    (
        "inclusion/additional/2/random-leaf",
        1,
        0,
        "",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/3/empty-root-and-random-leaf",
        2,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/additional/3/empty-root",
        2,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "",
        (),
        True,
    ),
    (
        "inclusion/additional/3/random-leaf",
        2,
        1,
        "",
        "q6yroAAAAAAAAAAAAAAAAAAAAAAAAAAAAGAGHgASNFY=",
        (),
        True,
    ),
    (
        "inclusion/single-entry/empty-leaf",
        0,
        1,
        "DTrtAjFI/9KiWfvQzcf7PPl1ZYdg03dbgq9vkKrMLfw=",
        "",
        (),
        True,
    ),
    ("inclusion/single-entry/empty-root-and-leaf", 0, 1, "", "", (), True),
    (
        "inclusion/single-entry/empty-root",
        0,
        1,
        "",
        "DTrtAjFI/9KiWfvQzcf7PPl1ZYdg03dbgq9vkKrMLfw=",
        (),
        True,
    ),
    (
        "inclusion/single-entry/matching-root-and-leaf",
        0,
        1,
        "DTrtAjFI/9KiWfvQzcf7PPl1ZYdg03dbgq9vkKrMLfw=",
        "DTrtAjFI/9KiWfvQzcf7PPl1ZYdg03dbgq9vkKrMLfw=",
        (),
        False,
    ),
]
# (name, first size, second size, first root, second root, proof, want error)
CONSISTENCY_VECTORS = [
    (
        "consistency/0/happy-path",
        1,
        1,
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        (),
        False,
    ),
    (
        "consistency/1/happy-path",
        1,
        8,
        "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        (
            "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
        ),
        False,
    ),
    (
        "consistency/2/happy-path",
        6,
        8,
        "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=",
        "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=",
        (
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ),
        False,
    ),
    (
        "consistency/3/happy-path",
        2,
        5,
        "+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=",
        "Tju7H3tHjc/nH7YxYxUZo7yhLJrvyhYSv85ME6hiZNQ=",
        (
            "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
            "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
        ),
        False,
    ),
    (
        "consistency/4/happy-path",
        6,
        7,
        "duZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=",
        "3bib5AOAnjJXUNPSY814kpwpQreUKjS3fhIslZSnTIw=",
        (
            "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
            "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
            "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
        ),
        False,
    ),
    (
        "consistency/additional/consistency-check-on-empty-tree-size1-is-zero-is-useless",
        0,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",),
        True,
    ),
    (
        "consistency/additional/roots-do-not-match-and-sizes-are-zero",
        0,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/roots-do-not-not-match-and-sizes-are-one",
        1,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/size1-is-greater-than-size2-again",
        2,
        1,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/size1-is-greater-than-size2",
        1,
        0,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/size1-is-zero-and-does-not-equal-size2",
        0,
        1,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/size1-is-zero-and-size2-is-not-zero",
        0,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/sizes-are-equal-one-and-proof-is-empty",
        1,
        1,
        "ZG9uJ3QgY2FyZSAy",
        "ZG9uJ3QgY2FyZSAy",
        (),
        False,
    ),
    (
        "consistency/additional/sizes-are-equal-one-but-roots-are-not",
        1,
        1,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/sizes-are-equal-zero-and-proof-is-empty",
        0,
        0,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAx",
        (),
        True,
    ),
    (
        "consistency/additional/sizes-are-equal-zero-but-roots-are-not",
        0,
        0,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/sizes-do-not-watch-and-proof-is-empty",
        1,
        2,
        "ZG9uJ3QgY2FyZSAx",
        "ZG9uJ3QgY2FyZSAy",
        (),
        True,
    ),
    (
        "consistency/additional/sizes-match-but-proof-is-not-empty-and-sizes-are-one",
        1,
        1,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",),
        True,
    ),
    (
        "consistency/additional/sizes-match-but-proof-is-not-empty-and-sizes-are-zero",
        0,
        0,
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        ("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",),
        True,
    ),
]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_root_hashes_of_the_reference_vectors():
    hashes = [merkle.leaf_hash(entry) for entry in LEAF_INPUTS]
    frontier = merkle.Frontier()
    assert frontier.root().hex() == ROOT_HASHES[0]
    for size in range(1, len(hashes) + 1):
        frontier.append(hashes[size - 1])
        assert merkle.root(hashes[:size]).hex() == ROOT_HASHES[size]
        assert frontier.root().hex() == ROOT_HASHES[size]
        assert len(frontier.hashes) == size.bit_count()


@pytest.mark.parametrize("vector", INCLUSION_VECTORS, ids=lambda v: v[0])
def test_inclusion_vectors(vector):
    _name, index, size, root, leaf, proof, want_error = vector
    verified = merkle.verify_inclusion(
        index, size, _b64(leaf), [_b64(p) for p in proof], _b64(root)
    )
    assert verified is not want_error
    if not want_error:  # our proof for the reference leaves is the published one
        hashes = [merkle.leaf_hash(entry) for entry in LEAF_INPUTS[:size]]
        if _b64(root) == merkle.root(hashes):
            assert merkle.inclusion_proof(hashes, index, size) == [_b64(p) for p in proof]


@pytest.mark.parametrize("vector", CONSISTENCY_VECTORS, ids=lambda v: v[0])
def test_consistency_vectors(vector):
    _name, first, second, first_root, second_root, proof, want_error = vector
    verified = merkle.verify_consistency(
        first, second, _b64(first_root), _b64(second_root), [_b64(p) for p in proof]
    )
    assert verified is not want_error
    if not want_error and 0 < first < second:
        hashes = [merkle.leaf_hash(entry) for entry in LEAF_INPUTS[:second]]
        assert merkle.consistency_proof(hashes, first, second) == [_b64(p) for p in proof]


def test_the_same_trees_and_proofs_as_pymerkle():
    pymerkle = pytest.importorskip("pymerkle")
    rng = random.Random(9162)
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    entries = [rng.randbytes(rng.randrange(0, 40)) for _ in range(45)]
    for entry in entries:
        tree.append_entry(entry)
    hashes = [merkle.leaf_hash(entry) for entry in entries]
    assert [merkle.leaf_hash(e) for e in entries] == [tree.get_leaf(i + 1) for i in range(45)]
    for size in range(0, 46):
        assert tree.get_root(size) == merkle.root(hashes[:size])
    for size in range(1, 46):
        for index in range(size):
            theirs = tree.prove_inclusion(index + 1, size)
            # pymerkle's path starts with the leaf's own hash; the rest is RFC 9162's PATH.
            assert [bytes.fromhex(h) for h in theirs.serialize()["path"][1:]] == (
                merkle.inclusion_proof(hashes, index, size)
            )
    for first in range(1, 46):
        for second in range(first, 46):
            pymerkle.verify_consistency(
                tree.get_root(first), tree.get_root(second), tree.prove_consistency(first, second)
            )
            assert merkle.verify_consistency(
                first,
                second,
                tree.get_root(first),
                tree.get_root(second),
                merkle.consistency_proof(hashes, first, second),
            )


def _random_hashes(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [merkle.leaf_hash(rng.randbytes(16)) for _ in range(n)]


def test_every_inclusion_proof_verifies_against_every_head_holding_the_leaf():
    hashes = _random_hashes(24, 1)
    roots = [merkle.root(hashes[:size]) for size in range(25)]
    wrong_leaf = merkle.leaf_hash(b"not a leaf")
    for size in range(1, 25):
        for index in range(size):
            proof = merkle.inclusion_proof(hashes, index, size)
            assert merkle.verify_inclusion(index, size, hashes[index], proof, roots[size])
            assert not merkle.verify_inclusion(index, size, wrong_leaf, proof, roots[size])
            assert not merkle.verify_inclusion(index, size, hashes[index], proof, roots[size - 1])
            assert not merkle.verify_inclusion(size, size, hashes[index], proof, roots[size])
            if size > 1:
                other = (index + 1) % size
                assert not merkle.verify_inclusion(other, size, hashes[index], proof, roots[size])
                assert not merkle.verify_inclusion(
                    index, size, hashes[index], proof[:-1], roots[size]
                )


def test_consistency_between_every_pair_of_sizes_and_a_changed_leaf_fails():
    hashes = _random_hashes(40, 2)
    roots = [merkle.root(hashes[:size]) for size in range(41)]
    for first in range(0, 41):
        for second in range(first, 41):
            proof = merkle.consistency_proof(hashes, first, second)
            if first == 0:  # meaningless, refused (as transparency-dev/merkle does)
                assert proof == []
                assert not merkle.verify_consistency(0, second, roots[0], roots[second], proof)
                continue
            assert merkle.verify_consistency(first, second, roots[first], roots[second], proof)
            # Any earlier leaf changed: the earlier head no longer matches the later tree.
            changed = list(hashes)
            changed[(first * 7 + second) % first] = merkle.leaf_hash(b"rewritten")
            forged_root = merkle.root(changed[:second])
            forged = merkle.consistency_proof(changed, first, second)
            assert not merkle.verify_consistency(first, second, roots[first], forged_root, forged)
            if second > first:
                assert not merkle.verify_consistency(
                    first, second, roots[first], forged_root, proof
                )
                assert not merkle.verify_consistency(
                    first, second, roots[first - 1], roots[second], proof
                )


# --- The log in the database -----------------------------------------------------------------

pytestmark_db = pytest.mark.django_db


def _submit(proposal, user, now=None):
    return submission.submit_proposal(
        proposal=proposal, user=user, expected_edit=proposal.edit_count, now=now or timezone.now()
    ).version


def _log(rfp) -> TransparencyLog:
    return TransparencyLog.objects.get(rfp=rfp)


def _entries(log) -> list[bytes]:
    return [leaf.entry.encode("ascii") for leaf in log.leaves.order_by("index")]


def _check_state(log):
    """The state row's size, frontier and root are those of its leaves."""
    entries = _entries(log)
    hashes = [merkle.leaf_hash(e) for e in entries]
    assert [leaf.index for leaf in log.leaves.order_by("index")] == list(range(len(entries)))
    assert log.size == len(entries)
    assert log.root_hash == merkle.root(hashes).hex()
    frontier = merkle.Frontier()
    for hashed in hashes:
        frontier.append(hashed)
    assert log.frontier == frontier.to_hex()


@pytest.mark.django_db
def test_submits_and_withdrawals_are_leaves(open_rfp, proposer):
    proposal = ready_draft(open_rfp, proposer)
    first = _submit(proposal, proposer)
    proposal.refresh_from_db()
    submission.withdraw_proposal(proposal=proposal, user=proposer, now=timezone.now())
    proposal.refresh_from_db()
    second = _submit(proposal, proposer)
    log = _log(open_rfp)
    _check_state(log)
    leaves = list(log.leaves.order_by("index"))
    assert [leaf.kind for leaf in leaves] == ["receipt", "withdrawal", "receipt"]
    signatures = [ReceiptSignature.objects.get(version=v) for v in (first, second)]
    assert [leaves[0].entry, leaves[2].entry] == [s.statement for s in signatures]
    statements = [json.loads(s.statement) for s in signatures]
    assert [s["format"] for s in statements] == ["rfp-portal-receipt/2"] * 2
    assert [s["log_index"] for s in statements] == [0, 2]
    withdrawal = json.loads(leaves[1].entry)
    assert withdrawal["format"] == transparency.WITHDRAWAL_FORMAT
    assert withdrawal["proposal"] == statements[0]["proposal"] == statements[1]["proposal"]
    assert withdrawal["log_index"] == 1
    # Nothing of the proposal's content, title or team is in any leaf.
    for leaf in leaves:
        assert proposal.title not in leaf.entry
        assert proposer.email not in leaf.entry


@pytest.mark.django_db
def test_format_1_receipts_still_verify(open_rfp, proposer):
    version = _submit(ready_draft(open_rfp, proposer), proposer)
    old = ReceiptSignature.objects.get(version=version)
    old.delete()
    legacy = receipt_signing.sign_version(version)  # as signed before the log existed
    statement = json.loads(legacy.statement)
    assert statement["format"] == "rfp-portal-receipt/1"
    assert "log_index" not in statement
    verified = receipt_signing.verify_file(
        receipt_signing.receipt_file_bytes(legacy), receipt_signing.public_keys()
    )
    assert verified.statement["receipt_code"] == version.receipt_code
    # A format-1 statement with a log_index smuggled in is refused.
    forged = receipt_signing.canonical({**statement, "log_index": 0})
    _key_id, private = receipt_signing.signing_key()
    data = receipt_signing.receipt_file(legacy)
    data.update(
        statement=json.loads(forged),
        signed_bytes_base64=base64.b64encode(forged).decode(),
        signature_base64=base64.b64encode(private.sign(forged)).decode(),
    )
    with pytest.raises(receipt_signing.ReceiptInvalid):
        receipt_signing.verify_file(data, receipt_signing.public_keys())


@pytest.mark.django_db
def test_sequential_appends_keep_indexes_dense(open_rfp):
    users = [UserFactory() for _ in range(5)]
    for i, user in enumerate(users):
        submitted_proposal(open_rfp, user, f"Proposal {i}")
    log = _log(open_rfp)
    assert log.size == 5
    _check_state(log)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_keep_indexes_dense(open_rfp):
    assert connection.vendor == "postgresql"
    users = [UserFactory() for _ in range(6)]
    drafts = [ready_draft(open_rfp, user, f"Proposal {i}") for i, user in enumerate(users)]
    barrier = threading.Barrier(len(drafts))
    errors = []

    def run(proposal, user):
        try:
            barrier.wait()
            _submit(proposal, user)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in zip(drafts, users, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    log = _log(open_rfp)
    assert log.size == 6
    _check_state(log)
    indexes = sorted(
        json.loads(s.statement)["log_index"]
        for s in ReceiptSignature.objects.filter(version__proposal__rfp=open_rfp)
    )
    assert indexes == list(range(6))


@pytest.mark.django_db
def test_final_head_at_opening_is_signed_and_mailed_to_every_bidder(open_rfp, proposer):
    co_author = UserFactory()
    proposal = submitted_proposal(open_rfp, proposer, "Ours")
    from proposals.models import ProposalMember

    ProposalMember.objects.create(proposal=proposal, user=co_author, role="co_author")
    other = UserFactory()
    submitted_proposal(open_rfp, other, "Theirs")
    never = UserFactory()
    ready_draft(open_rfp, never, "Never submitted")
    open_now(open_rfp)
    final = TreeHead.objects.get(log__rfp=open_rfp, final=True)
    assert final.tree_size == 2
    assert final.root_hash == _log(open_rfp).root_hash
    head = transparency.verify_head(transparency.head_file(final), receipt_signing.public_keys())
    assert head.final and head.tree_size == 2
    mails = OutboxMessage.objects.filter(template="proposals/email/final_head")
    assert sorted(m.to for m in mails) == sorted([proposer.email, co_author.email, other.email])
    body = mails.first().body_text
    assert final.root_hash in body
    assert reverse("transparency_head", args=[open_rfp.slug, final.pk]) in body
    assert "Ours" not in body and "Theirs" not in body
    # Opening twice makes no second final head.
    open_now(open_rfp)
    assert TreeHead.objects.filter(log__rfp=open_rfp, final=True).count() == 1


@pytest.mark.django_db
def test_an_rfp_without_submissions_gets_an_empty_final_head(open_rfp):
    open_now(open_rfp)
    final = TreeHead.objects.get(log__rfp=open_rfp, final=True)
    assert (final.tree_size, final.root_hash) == (0, merkle.EMPTY_ROOT.hex())


def _write(directory: Path, name: str, data) -> str:
    path = directory / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def _call(*args) -> str:
    import io

    out = io.StringIO()
    call_command("verify_log", *args, stdout=out)
    return out.getvalue()


def _backdate_after_final(rfp, final):
    """What a dishonest operator would do after the opening: append a receipt-like leaf with
    a receipt time before the deadline, through the ORM, keeping the state row consistent."""
    log = _log(rfp)
    entry = receipt_signing.canonical(
        {
            "format": "rfp-portal-receipt/2",
            "received_at": receipt_signing.utc_iso(rfp.deadline_instant - timedelta(hours=1)),
            "rfp_slug": rfp.slug,
            "log_index": log.size,
        }
    )
    frontier = merkle.Frontier.from_hex(log.size, log.frontier)
    frontier.append(merkle.leaf_hash(entry))
    LogLeaf.objects.create(
        log=log,
        index=log.size,
        kind="receipt",
        entry=entry.decode(),
        leaf_hash=merkle.leaf_hash(entry).hex(),
        claimed_at=rfp.deadline_instant - timedelta(hours=1),
    )
    TransparencyLog.objects.filter(pk=log.pk).update(
        size=frontier.size, frontier=frontier.to_hex(), root_hash=frontier.root().hex()
    )


@pytest.mark.django_db
def test_verify_log_detects_a_backdated_leaf_after_the_final_head(open_rfp, proposer, tmp_path):
    submitted_proposal(open_rfp, proposer, "Ours")
    open_now(open_rfp)
    final = TreeHead.objects.get(log__rfp=open_rfp, final=True)
    assert "no leaf was appended" in _call("--since-final", open_rfp.slug)
    _backdate_after_final(open_rfp, final)
    with pytest.raises(CommandError, match="1 leaves appended after the final head, 1 of them"):
        _call("--since-final", open_rfp.slug)
    # The same from files an auditor saved: the mailed final head and the /leaves/ answer.
    log = _log(open_rfp)
    later = transparency.refresh_head(log, now=timezone.now() + timedelta(minutes=5), force=True)
    head_path = _write(tmp_path, "final.json", transparency.head_file(final))
    leaves = {
        "format": transparency.LEAVES_FORMAT,
        "leaves": [transparency.leaf_json(leaf) for leaf in log.leaves.order_by("index")],
    }
    leaves_path = _write(tmp_path, "leaves.json", leaves)
    out_err = None
    try:
        _call("--since-final", "--head", head_path, "--leaves", leaves_path)
    except CommandError as exc:
        out_err = str(exc)
    assert out_err and "backdated" in out_err
    # The later head extends the final one (appending is allowed by the hashing): only the
    # leaf's time gives it away, which is what --since-final checks.
    assert later.tree_size == final.tree_size + 1


@pytest.mark.django_db
def test_a_rewritten_history_fails_against_the_final_head(open_rfp, proposer, tmp_path):
    submitted_proposal(open_rfp, proposer, "Ours")
    submitted_proposal(open_rfp, UserFactory(), "Theirs")
    open_now(open_rfp)
    final = TreeHead.objects.get(log__rfp=open_rfp, final=True)
    # The operator rewrites leaf 0 (say, to remove a submission) and recomputes the state.
    log = _log(open_rfp)
    leaf = log.leaves.get(index=0)
    leaf.entry = leaf.entry.replace('"version":1', '"version":9')
    leaf.leaf_hash = merkle.leaf_hash(leaf.entry.encode()).hex()
    leaf.save()
    hashes = [merkle.leaf_hash(e) for e in _entries(log)]
    TransparencyLog.objects.filter(pk=log.pk).update(root_hash=merkle.root(hashes).hex())
    later = transparency.refresh_head(log, now=timezone.now() + timedelta(minutes=5), force=True)
    later = TreeHead.objects.create(
        log=log,
        tree_size=2,
        root_hash=merkle.root(hashes).hex(),
        timestamp=timezone.now() + timedelta(minutes=5),
        statement="",
        signature="",
        key_id="",
    )  # signed below with the real key, as the operator could
    key_id, private = receipt_signing.signing_key()
    statement = {**json.loads(final.statement), "root_hash": later.root_hash, "final": False}
    statement["timestamp"] = receipt_signing.utc_iso(later.timestamp)
    data = receipt_signing.canonical(statement)
    later.statement, later.key_id = data.decode(), key_id
    later.signature = receipt_signing.b64(private.sign(data))
    later.save()
    old = _write(tmp_path, "final.json", transparency.head_file(final))
    new = _write(tmp_path, "later.json", transparency.head_file(later))
    with pytest.raises(CommandError, match="does not verify"):
        _call("--head", old, "--head", new)
    with pytest.raises(CommandError, match="do not hash to the final head"):
        _call("--since-final", open_rfp.slug)


@pytest.mark.django_db
def test_verify_log_checks_consistency_and_inclusion_from_saved_files(
    client, open_rfp, proposer, tmp_path
):
    version = _submit(ready_draft(open_rfp, proposer), proposer)
    log = _log(open_rfp)
    first = transparency.refresh_head(log, now=timezone.now())
    for i in range(3):
        submitted_proposal(open_rfp, UserFactory(), f"Other {i}")
    second = transparency.refresh_head(log, now=timezone.now() + timedelta(minutes=2))
    assert (first.tree_size, second.tree_size) == (1, 4)
    old = _write(tmp_path, "old.json", transparency.head_file(first))
    new = _write(tmp_path, "new.json", transparency.head_file(second))
    response = client.get(
        reverse("transparency_consistency", args=[open_rfp.slug]), {"first": 1, "second": 4}
    )
    assert response.status_code == 200
    proof = _write(tmp_path, "proof.json", response.content.decode())
    assert "extends the head of 1 leaves" in _call("--head", old, "--head", new, "--proof", proof)
    # A receipt downloaded now carries its inclusion proof against the latest head.
    client.force_login(proposer)
    data = json.loads(
        client.get(reverse("signed_receipt", args=[version.proposal_id, version.number])).content
    )
    inclusion = data["inclusion"]
    assert (inclusion["leaf_index"], inclusion["tree_size"]) == (0, 4)
    assert inclusion["root_hash"] == second.root_hash
    receipt = _write(tmp_path, "receipt.json", data)
    assert "is leaf 0 of the log of 4 leaves" in _call("--receipt", receipt, "--head", new)
    # The receipt file is still a valid signed receipt for verify_receipt.
    receipt_signing.verify_file(json.dumps(data).encode(), receipt_signing.public_keys())
    # A forged proof fails.
    data["inclusion"]["proof"][0] = "00" * 32
    forged = _write(tmp_path, "forged.json", data)
    with pytest.raises(CommandError, match="inclusion proof does not verify"):
        _call("--receipt", forged, "--head", new)
    # A tampered head fails its signature check.
    tampered = transparency.head_file(second)
    tampered["head"]["tree_size"] = 5
    with pytest.raises(CommandError, match="invalid head"):
        _call("--head", old, "--head", _write(tmp_path, "bad.json", tampered))


# --- Public pages and JSON -------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_and_json_show_the_log_and_no_proposal(client, open_rfp, proposer):
    proposal = submitted_proposal(open_rfp, proposer, "A secret title")
    submitted_proposal(open_rfp, UserFactory(), "Another secret")
    page = client.get(reverse("transparency"))
    assert page.status_code == 200
    head = TreeHead.objects.get(log__rfp=open_rfp)  # made on demand by the view
    assert head.tree_size == 2
    text = page.content.decode()
    assert open_rfp.title in text
    detail = client.get(reverse("transparency_rfp", args=[open_rfp.slug]))
    assert head.root_hash in detail.content.decode()
    # Within a minute, a look at a log that grew makes no second head.
    submitted_proposal(open_rfp, UserFactory(), "A third")
    client.get(reverse("transparency"))
    assert TreeHead.objects.filter(log__rfp=open_rfp).count() == 1
    heads = client.get(reverse("transparency_heads", args=[open_rfp.slug])).json()
    assert [h["head"]["tree_size"] for h in heads["heads"]] == [2]
    one = client.get(reverse("transparency_head", args=[open_rfp.slug, head.pk])).json()
    assert one["head"]["root_hash"] == head.root_hash
    proof = client.get(
        reverse("transparency_proof", args=[open_rfp.slug]), {"index": 1, "size": 2}
    ).json()
    leaves = client.get(
        reverse("transparency_leaves", args=[open_rfp.slug]), {"start": 0, "end": 2}
    ).json()
    assert [leaf["index"] for leaf in leaves["leaves"]] == [0, 1]
    entry = leaves["leaves"][1]["entry"].encode()
    assert merkle.verify_inclusion(
        1,
        2,
        merkle.leaf_hash(entry),
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(head.root_hash),
    )
    for response in (page, detail):
        body = response.content.decode()
        assert "A secret title" not in body and proposer.email not in body
    assert "A secret title" not in json.dumps(leaves) and proposal.title not in json.dumps(leaves)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("transparency_proof", {"index": "x", "size": 1}),
        ("transparency_proof", {"index": 0}),
        ("transparency_proof", {"index": 0, "size": 99}),
        ("transparency_proof", {"index": 1, "size": 1}),
        ("transparency_proof", {"index": "-1", "size": 1}),
        ("transparency_consistency", {"first": 2, "second": 1}),
        ("transparency_consistency", {"first": 0, "second": 10**12}),
        ("transparency_leaves", {"start": 0, "end": 5000}),
        ("transparency_leaves", {"start": 1, "end": 0}),
        ("transparency_heads", {"page": 0}),
    ],
)
def test_bad_queries_get_a_400_with_a_json_error(client, open_rfp, proposer, name, query):
    submitted_proposal(open_rfp, proposer, "Ours")
    response = client.get(reverse(name, args=[open_rfp.slug]), query)
    assert response.status_code == 400
    assert response.json()["error"]


@pytest.mark.django_db
def test_the_page_checks_a_receipt_file(client, open_rfp, proposer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    version = _submit(ready_draft(open_rfp, proposer), proposer)
    signature = ReceiptSignature.objects.get(version=version)
    data = receipt_signing.receipt_file_bytes(signature)
    url = reverse("transparency_rfp", args=[open_rfp.slug])
    client.get(url)  # makes the head
    response = client.post(url, {"signed_receipt": SimpleUploadedFile("r.json", data)})
    assert response.status_code == 200
    assert "this receipt is leaf 0 of the 1 leaves" in response.content.decode()
    forged = json.loads(data)
    forged["statement"]["log_index"] = 1
    response = client.post(
        url, {"signed_receipt": SimpleUploadedFile("r.json", json.dumps(forged).encode())}
    )
    assert "Not shown to be in this log" in response.content.decode()


@pytest.mark.django_db
def test_the_beat_task_signs_a_head_for_each_log_that_grew(open_rfp, proposer):
    from proposals import tasks

    assert tasks.publish_tree_heads() == 0  # no log yet
    submitted_proposal(open_rfp, proposer, "Ours")
    assert tasks.publish_tree_heads() == 1
    head = TreeHead.objects.get(log__rfp=open_rfp)
    assert (head.tree_size, head.final) == (1, False)
    assert tasks.publish_tree_heads() == 0  # nothing new
    from rfp_portal.celery import app

    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "proposals.tasks.publish_tree_heads" in schedule

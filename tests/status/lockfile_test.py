"""The fast dvc.lock reader: the same data as the full YAML loader, or it declines.

Documents are dumped by ruamel.yaml the way DVC dumps dvc.lock
(`dvc.utils.serialize.dumps_yaml`, run in DVC's own interpreter), so the shapes are
DVC's, folded long lines included.
"""

from __future__ import annotations

import json
import subprocess

from conftest import VENV_BIN
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from dvc_gitops.formats import yamldoc
from dvc_gitops.status.lockfile import parse

DUMP = (
    "import json, sys\nfrom dvc.utils.serialize import dumps_yaml\n"
    "for doc in json.load(sys.stdin): print(json.dumps(dumps_yaml(doc)))\n"
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=90),
    st.sampled_from(["yes", "no", "0755", "1e3", "1_000", "~", "null", "- x", "a: b", "#c", "'q'"]),
)
keys = st.text(
    st.characters(codec="ascii", min_codepoint=33, max_codepoint=126), min_size=1, max_size=20
)
docs = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def dump_as_dvc(documents: list[object]) -> list[str]:
    done = subprocess.run(
        [str(VENV_BIN / "python"), "-c", DUMP],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


@seed(7)
@settings(max_examples=1, deadline=None, database=None)
@given(st.lists(st.dictionaries(keys, docs, min_size=1, max_size=5), min_size=150, max_size=150))
def test_same_data_as_the_loader_or_declines(documents: list[dict[str, object]]) -> None:
    read = declined = 0
    for text in dump_as_dvc(documents):
        full = yamldoc.load_bytes(text.encode(), "dvc.lock").data
        fast = parse(text)
        if fast is None:
            declined += 1
            continue
        read += 1
        assert fast == full and repr(fast) == repr(full), text
    assert read > declined  # the fast path is worth having


def test_a_real_lock_shape() -> None:
    text = (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py --lr 0.01 --in data/a.csv"
        " \n      --out out/model.pkl\n    deps:\n    - path: train.py\n      hash: md5\n"
        "      md5: 0e2a\n      size: 12\n    params:\n      params.yaml:\n        lr: 1e-3\n"
        "        layers:\n        - 8\n        - 4\n        name: 'yes'\n    outs: []\n"
    )
    assert parse(text) == yamldoc.load_bytes(text.encode(), "dvc.lock").data
    data = parse(text)
    assert data is not None
    assert data["stages"]["train"]["cmd"].endswith("data/a.csv --out out/model.pkl")


def test_declines_what_it_does_not_read() -> None:
    for text in ["a: [1, 2]\n", "a: &x 1\nb: *x\n", "a: |\n  x\n", "a: 1 # c\n", "a: 1\na: 2\n"]:
        assert parse(text) is None, text

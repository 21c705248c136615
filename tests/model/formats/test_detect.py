"""The one format detector: shipped instances, text snippets, names, and unknown input."""
from __future__ import annotations

import gzip

import pytest

from qopt.data import instance_names, instance_path
from qopt.errors import InvalidInput
from qopt.model import load_model
from qopt.model.formats.detect import FORMATS, INSTANCE_FORMATS, MODEL_FORMATS, detect_format

SHIPPED = {"G1": "gset", "bqp50": "bqp", "gka1a": "sparse", "gka1b": "sparse", "pm1s_80.0": "gset",
           "pw01_100.0": "gset"}

LP = "\\ a comment\nMaximize\n obj: 3 x + 2 y\nSubject To\n c: x + y <= 1\nBinary\n x y\nEnd\n"
MPS = "NAME          demo\nROWS\n N  obj\n L  c1\nCOLUMNS\n    x  obj  1  c1  1\nRHS\n    rhs  c1  1\nBOUNDS\n BV BND  x\nENDATA\n"
TSPLIB = "NAME: tiny\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n" \
         "EDGE_WEIGHT_SECTION\n0 1 2\n1 0 3\n2 3 0\nEOF\n"
QKP = "tiny\n2\n1 2\n3\n\n0\n1\n1 1\n"
BQP = " 1 \n 2 1 \n 1 2 3 \n"
GSET = "3 2\n1 2 1\n2 3 1\n"
SPEC = '{"sense": "min", "variables": [{"name": "x"}],\n "objective": {"linear": {"x": 1}}}\n'
SNIPPETS = {"lp": LP, "mps": MPS, "tsplib": TSPLIB, "qkp": QKP, "bqp": BQP, "gset": GSET, "json": SPEC}


def test_every_shipped_instance_is_covered():
    assert sorted(SHIPPED) == instance_names()


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_instances(name):
    path = instance_path(name)
    assert detect_format(path) == SHIPPED[name]
    assert detect_format(path, among=INSTANCE_FORMATS) == SHIPPED[name]


@pytest.mark.parametrize("name", ["G1", "bqp50", "pm1s_80.0"])
def test_shipped_instances_by_content_alone(name, tmp_path):
    """Renamed so that no name rule applies, a file is told by its first bytes."""
    copy = tmp_path / "instance.dat"
    copy.write_bytes(instance_path(name).read_bytes())
    assert detect_format(copy) == SHIPPED[name]
    assert detect_format(text=instance_path(name).read_text()[:500]) == SHIPPED[name]


@pytest.mark.parametrize("fmt", sorted(SNIPPETS))
def test_text_snippets(fmt):
    assert detect_format(text=SNIPPETS[fmt]) == fmt
    assert detect_format(text=SNIPPETS[fmt].encode()) == fmt


@pytest.mark.parametrize("fmt", ["lp", "mps", "tsplib", "qkp", "json"])
def test_model_snippets_load(fmt):
    problem = load_model(SNIPPETS[fmt])
    assert len(problem.cqm.variables) >= 1


@pytest.mark.parametrize("name, fmt", [
    ("m.lp", "lp"), ("M.LP", "lp"), ("m.mps", "mps"), ("m.qps", "mps"), ("m.mps.gz", "mps"),
    ("burma14.tsp", "tsplib"), ("br17.atsp", "tsplib"), ("spec.json", "json"), ("m.cqm", "cqm"),
    ("gka1a.sparse", "sparse"), ("be100.1.sparse.gz", "sparse"), ("bqp250.txt", "bqp"),
    ("bqp_model.lp", "lp"),
])
def test_names_decide_first(name, fmt, tmp_path):
    assert detect_format(name) == fmt
    path = tmp_path / name
    path.write_text(GSET)  # the name wins over the content
    assert detect_format(path) == fmt


def test_gzip_content_is_read(tmp_path):
    path = tmp_path / "graph.dat.gz"
    path.write_bytes(gzip.compress(BQP.encode()))
    assert detect_format(path) == "bqp"


def test_cqm_file_by_magic(tmp_path):
    import dimod

    cqm = dimod.ConstrainedQuadraticModel()
    cqm.set_objective(dimod.Binary("x"))
    path = tmp_path / "model.bin"
    path.write_bytes(cqm.to_file().read())
    assert detect_format(path) == "cqm"
    assert load_model(str(path)).cqm.is_equal(cqm)


def test_among_restricts_the_rules():
    assert detect_format(text=GSET, among=MODEL_FORMATS + ("gset",)) == "gset"
    with pytest.raises(InvalidInput, match="reads as gset") as err:
        detect_format(text=GSET, among=MODEL_FORMATS)
    assert err.value.field == "path"
    # among the instance formats alone, a graph is the file no rule claims
    assert detect_format(text="hello\n", among=INSTANCE_FORMATS) == "gset"
    assert detect_format("m.lp", among=INSTANCE_FORMATS) == "gset"


@pytest.mark.parametrize("text", ["hello world\nthis is not a model\n", "", "x y\n"])
def test_unknown_raises_invalid_input_naming_the_argument(text):
    with pytest.raises(InvalidInput, match="cannot tell the format") as err:
        detect_format(text=text, argument="path_or_text")
    assert err.value.field == "path_or_text"
    assert isinstance(err.value, ValueError)


def test_unknown_file_names_the_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(InvalidInput, match="notes.txt") as err:
        detect_format(path, argument="file")
    assert err.value.field == "file"


def test_load_model_unknown_text_names_its_argument():
    with pytest.raises(InvalidInput) as err:
        load_model("hello world\nthis is not a model\n")
    assert err.value.field == "path_or_text"


def test_among_must_hold_known_formats():
    with pytest.raises(InvalidInput) as err:
        detect_format(text=GSET, among=("gset", "xls"))
    assert err.value.field == "among"
    assert set(FORMATS) == set(MODEL_FORMATS) | set(INSTANCE_FORMATS)

"""Loading untrusted files (issue 7, item 6): the course's HDF5 data files are read without pickle,
their members only through hard links, their dtypes and declared shapes checked from the
metadata before a byte is read. Each crafted file below is a DataError naming the file and the
problem, never a MemoryError, a read of another file, or NumPy's own message. (The same checks
guard checkpoints: parity_tests/test_checkpoint.py.)"""

import re
from pathlib import Path

import h5py
import numpy as np
import pytest

from experiments import datasets, generators
from experiments.datasets import DataError

REPO = Path(__file__).resolve().parents[1]
HUGE = 10**9   # examples declared; 12 TB of pixels if anybody read them


def _cat_files(folder: Path, craft) -> Path:
    """The two cat files from the stand-in (12 and 5 examples); ``craft(f)`` then edits the
    train file in place."""
    arrays = generators.make_cat_standin(m_train=12, m_test=5, seed=3)
    for split, name in datasets.CAT_FILES.items():
        with h5py.File(folder / name, "w") as f:
            for key, value in arrays.items():
                if key.startswith(split) or key == "list_classes":
                    f[key] = value
    with h5py.File(folder / datasets.CAT_FILES["train"], "r+") as f:
        craft(f)
    return folder


def _replace(f, name, **dataset):
    del f[name]
    f.create_dataset(name, **dataset)


def _external_storage(f):
    raw = f.file.filename + ".raw"
    np.zeros((12, 64, 64, 3), np.uint8).tofile(raw)
    _replace(f, "train_set_x", shape=(12, 64, 64, 3), dtype=np.uint8, external=[(raw, 0, h5py.h5f.UNLIMITED)])


CRAFTED = {
    "huge declared shape (chunked, nothing written)": (
        lambda f: _replace(f, "train_set_x", shape=(HUGE, 64, 64, 3), dtype=np.uint8, chunks=(1, 64, 64, 3),
                           maxshape=(None, 64, 64, 3)),
        r"'train_set_x' declares shape \(1000000000, 64, 64, 3\) \(12,288,000,000,000 bytes\), above the limit"),
    "huge compressed labels": (
        lambda f: _replace(f, "train_set_y", shape=(HUGE * 1000,), dtype=np.int64, chunks=(4096,),
                           compression="gzip"), "'train_set_y' declares shape"),
    "variable-length strings (object dtype)": (
        lambda f: _replace(f, "list_classes", data=["cat", "non-cat"], dtype=h5py.string_dtype()),
        "'list_classes' has dtype object; only numbers and fixed-length bytes are read"),
    "compound dtype": (
        lambda f: _replace(f, "train_set_y", data=np.zeros(12, dtype=[("a", "i8"), ("b", "f8")])),
        "'train_set_y' has dtype .*only numbers and fixed-length bytes"),
    "wrong dtype": (
        lambda f: _replace(f, "train_set_x", data=np.zeros((12, 64, 64, 3), np.float64)),
        "'train_set_x' has dtype float64, expected uint8"),
    "external link to another file": (
        lambda f: (f.__delitem__("train_set_y"), f.__setitem__("train_set_y", h5py.ExternalLink("/etc/hosts", "/"))),
        "'train_set_y' is a ExternalLink; only objects stored in the file are read"),
    "soft link": (
        lambda f: (f.__delitem__("train_set_y"), f.__setitem__("train_set_y", h5py.SoftLink("/list_classes"))),
        "'train_set_y' is a SoftLink"),
    "external raw storage": (_external_storage, "'train_set_x' is stored outside the file"),
    "a group where a dataset belongs": (
        lambda f: (f.__delitem__("train_set_y"), f.create_group("train_set_y")), "'train_set_y' is not a dataset"),
}


@pytest.mark.parametrize("kind", CRAFTED)
def test_a_crafted_data_file_is_rejected_before_it_is_read(tmp_path, kind):
    craft, problem = CRAFTED[kind]
    folder = _cat_files(tmp_path, craft)
    assert (folder / datasets.CAT_FILES["train"]).stat().st_size < 2_000_000   # the file itself is small
    with pytest.raises(DataError, match=problem) as error:
        datasets.cat_images(folder)
    assert str(error.value).startswith(str(folder / datasets.CAT_FILES["train"]) + ": ")


@pytest.mark.parametrize("spoil", ["random bytes", "truncated", "empty"])
def test_a_malformed_file_is_rejected(tmp_path, spoil):
    path = _cat_files(tmp_path, lambda f: None) / datasets.CAT_FILES["train"]
    data = path.read_bytes()
    path.write_bytes({"random bytes": np.random.default_rng(1).bytes(len(data)),
                      "truncated": data[: len(data) // 3], "empty": b""}[spoil])
    with pytest.raises(DataError, match=re.escape(f"{path}: not a readable HDF5 file")):
        datasets.cat_images(tmp_path)


def test_a_file_above_the_size_limit_is_rejected_unopened(tmp_path, monkeypatch):
    folder = _cat_files(tmp_path, lambda f: None)
    monkeypatch.setattr(datasets, "MAX_FILE_BYTES", 1000)
    with pytest.raises(DataError, match=r"train_catvnoncat.h5: [\d,]+ bytes, above the limit of 1,000 bytes"):
        datasets.cat_images(folder)


def test_crafted_toy_sets_are_rejected(tmp_path):
    path = tmp_path / datasets.TOY_FILE
    with h5py.File(path, "w") as f:
        f.create_dataset("moons/train_X", shape=(2, HUGE * 100), dtype="f8", chunks=(2, 1000))
        f["moons/train_Y"] = np.zeros((1, 5), np.int64)
    with pytest.raises(DataError, match=r"'moons/train_X' declares shape \(2, 100000000000\)"):
        datasets.toy_set("moons", tmp_path)
    with h5py.File(path, "w") as f:
        f["elsewhere/train_X"] = np.zeros((2, 5))
        f["moons"] = h5py.SoftLink("/elsewhere")
    with pytest.raises(DataError, match="'moons' is a SoftLink"):
        datasets.toy_set("moons", tmp_path)


def test_no_pickle_on_the_loading_paths():
    """Data files and checkpoints are read with h5py and JSON only: no pickle, no torch.load, no
    np.load (which can unpickle)."""
    for name in ("experiments/datasets.py", "experiments/checkpoint.py", "experiments/checkpoint_format.py",
                 "experiments/runner.py"):
        source = (REPO / name).read_text()
        for banned in ("import pickle", "torch.load(", "np.load(", "allow_pickle", "joblib"):
            assert banned not in source, f"{name} uses {banned}"

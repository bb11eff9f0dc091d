"""experiments.datasets and experiments.generators: the course's HDF5 files are read in the course's
layout and validated (a missing file, a missing dataset, a wrong shape or dtype is a DataError
naming the file and the problem); without the files a stand-in with the same schema is used and
says so; the generators reproduce the course's 2-D sets bit for bit."""

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from experiments import datasets, generators
from experiments.datasets import DataError
from parity_tests.conftest import course_data_dir as course_dir

REPO = Path(__file__).resolve().parents[1]
# The sha256 of the course's files as the team's reference copy lists them (shared/data/README.md),
# written here by hand: the shipped copies must be these bytes.
COURSE_SHA256 = {
    "train_catvnoncat.h5": "fbe56ab67c3ae28d564e3a644189117976d6b31af0a3ce9bb17dbf22908af242",
    "test_catvnoncat.h5": "6a9d39ce52fa85953c5834695b8534a30ed8cfd54971fb2f080b5a24d002b951",
    "course_toy_sets.h5": "f4473edc6a139ef1c0d0efb3a46492f71b1857403780d172b0c3445dacfa3e0d",
}


def write_h5(path: Path, arrays: dict) -> Path:
    with h5py.File(path, "w") as f:
        for name, value in arrays.items():
            f[name] = value
    return path


def standin_files(folder: Path, **changes) -> Path:
    """Both cat files from make_cat_standin, with ``changes`` {dataset: array or None (left out)}."""
    arrays = {**generators.make_cat_standin(m_train=12, m_test=5, seed=3), **changes}
    for split, name in datasets.CAT_FILES.items():
        write_h5(folder / name, {k: v for k, v in arrays.items()
                                 if v is not None and (k.startswith(split) or k == "list_classes")})
    return folder


# --- generators ------------------------------------------------------------------------------


@pytest.mark.parametrize(("group", "split", "made"), [
    ("planar_flower", ("X", "Y"), lambda: generators.make_flower(400, seed=1)),
    ("circles", ("train_X", "train_Y"), lambda: generators.make_circles(300, 0.05, seed=1)),
    ("circles", ("test_X", "test_Y"), lambda: generators.make_circles(100, 0.05, seed=2)),
    ("moons", ("train_X", "train_Y"), lambda: generators.make_moons(300, 0.2, seed=3)),
])
def test_generators_reproduce_the_course_points_bit_for_bit(group, split, made):
    with h5py.File(course_dir() / datasets.TOY_FILE, "r") as f:
        X, Y = f[f"{group}/{split[0]}"][()], f[f"{group}/{split[1]}"][()]
    X_made, Y_made = made()
    np.testing.assert_array_equal(X_made, X)
    np.testing.assert_array_equal(Y_made, Y)
    assert X_made.dtype == np.float64 and Y_made.dtype == np.int64


@pytest.mark.parametrize("make", [
    lambda seed: generators.make_flower(40, seed=seed),
    lambda seed: generators.make_circles(30, 0.1, seed=seed),
    lambda seed: generators.make_moons(30, 0.1, seed=seed),
    lambda seed: generators.make_spirals(10, 4, seed=seed),
    lambda seed: generators.make_blobs(10, seed=seed),
], ids=["flower", "circles", "moons", "spirals", "blobs"])
def test_generators_layout_and_seed(make):
    X, Y = make(5)
    assert X.shape[0] == 2 and Y.shape == (1, X.shape[1]) and Y.dtype == np.int64
    np.testing.assert_array_equal(make(5)[0], X)
    assert not np.array_equal(make(6)[0], X)


def test_spirals_and_blobs_have_one_class_per_arm_or_centre():
    assert np.bincount(generators.make_spirals(10, 4)[1][0]).tolist() == [10] * 4
    assert np.bincount(generators.make_blobs(7, centers=[(0, 0), (5, 5)])[1][0]).tolist() == [7, 7]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: generators.make_flower(401), "m must be even"),
    (lambda: generators.make_circles(300, factor=1.5), "factor must lie in"),
    (lambda: generators.make_moons(0), "m must be an integer"),
    (lambda: generators.make_spirals(10, classes=1), "classes must be an integer >= 2"),
    (lambda: generators.make_blobs(10, centers=[(0, 0, 0)]), "centers must be at least two 2-D points"),
    (lambda: generators.make_blobs(10, std=-1.0), "std must be"),
])
def test_generators_reject_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- the cat images --------------------------------------------------------------------------


def test_cat_images_in_the_course_layout():
    data = datasets.cat_images(course_dir())
    assert data.course_data and "train_catvnoncat.h5" in data.source
    assert data.train.X.shape == (12288, 209) and data.test.X.shape == (12288, 50)
    assert data.train.Y.shape == (1, 209) and data.train.Y.dtype == np.int64
    assert data.train.X.dtype == np.float64 and 0 <= data.train.X.min() and data.train.X.max() <= 1
    raw = datasets.read_cat_file(course_dir() / "train_catvnoncat.h5", "train")
    assert raw["classes"] == ("non-cat", "cat")
    np.testing.assert_array_equal(data.train.X[:, 3], raw["x"][3].reshape(-1) / 255.0)  # column i = image i


def test_stand_in_when_the_files_are_absent(tmp_path):
    for folder in (None, tmp_path):
        data = datasets.cat_images(folder, seed=4)
        assert not data.course_data and "stand-in" in data.source and "not found" in data.source
        assert data.train.X.shape == (12288, 209) and data.test.X.shape == (12288, 50)
        assert set(np.unique(data.train.Y)) == {0, 1}
    np.testing.assert_array_equal(datasets.cat_images(None, seed=4).train.X, data.train.X)


def test_stand_in_follows_the_schema_and_reads_back(tmp_path):
    data = datasets.cat_images(standin_files(tmp_path))
    assert data.course_data and data.train.X.shape == (12288, 12) and data.test.Y.shape == (1, 5)


@pytest.mark.parametrize(("changes", "problem"), [
    ({"train_set_y": None}, "missing dataset 'train_set_y'"),
    ({"train_set_x": np.zeros((12, 64, 64), np.uint8)}, r"has shape \(12, 64, 64\), expected \(m, 64, 64, 3\)"),
    ({"train_set_x": np.zeros((12, 64, 64, 3), np.float32)}, "has dtype float32, expected uint8"),
    ({"train_set_y": np.zeros(12, np.int32)}, "has dtype int32, expected int64"),
    ({"train_set_y": np.zeros(11, np.int64)}, "holds 11 labels for 12 examples"),
    ({"train_set_y": np.full(12, 2, np.int64)}, "must hold labels 0 and 1"),
    ({"list_classes": np.array([b"a", b"b", b"c"])}, r"'list_classes' has shape \(3,\)"),
])
def test_bad_cat_files_name_the_file_and_the_problem(tmp_path, changes, problem):
    standin_files(tmp_path, **changes)
    with pytest.raises(DataError, match=problem) as error:
        datasets.cat_images(tmp_path)
    assert "train_catvnoncat.h5" in str(error.value)


def test_one_cat_file_without_the_other_is_a_stand_in_for_both(tmp_path):
    standin_files(tmp_path)
    (tmp_path / "test_catvnoncat.h5").unlink()
    data = datasets.cat_images(tmp_path, seed=4)
    assert data.standin and not data.course_data
    assert "test_catvnoncat.h5 not found" in data.source and datasets.STANDIN in data.source
    np.testing.assert_array_equal(data.train.X, datasets.cat_images(None, seed=4).train.X)   # not the real train


def test_a_file_that_is_not_hdf5(tmp_path):
    (tmp_path / "x.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="x.h5: not a readable HDF5 file"):
        datasets.read_cat_file(tmp_path / "x.h5", "train")
    with pytest.raises(DataError, match="y.h5: file not found"):
        datasets.read_cat_file(tmp_path / "y.h5", "train")


# --- the 2-D course sets ---------------------------------------------------------------------


def test_toy_sets_from_the_file_and_generated_agree():
    for name in datasets.TOY_GENERATORS:
        read, made = datasets.toy_set(name, course_dir()), datasets.toy_set(name, None)
        assert datasets.TOY_FILE in read.source and "generated" in made.source
        assert read.course_data and made.course_data
        np.testing.assert_array_equal(read.train.X, made.train.X)
        assert (read.test is None) == (made.test is None)
    reg = datasets.toy_set("regularization_2d", course_dir())
    assert reg.train.X.shape == (2, 211) and reg.test.X.shape == (2, 200)


def test_regularisation_set_without_the_file_is_a_stand_in_in_its_schema(tmp_path):
    data = datasets.toy_set("regularization_2d", tmp_path, seed=5)
    assert data.standin and not data.course_data
    assert datasets.STANDIN in data.source and f"{datasets.TOY_FILE} not found in {tmp_path}" in data.source
    assert data.train.X.shape == (2, 211) and data.test.X.shape == (2, 200)
    assert data.train.Y.shape == (1, 211) and data.test.Y.shape == (1, 200)
    assert data.train.X.dtype == np.float64 and data.train.Y.dtype == np.int64
    assert set(np.unique(data.train.Y)) == {0, 1} and 0.3 < data.train.Y.mean() < 0.7
    np.testing.assert_array_equal(datasets.toy_set("regularization_2d", None, seed=5).train.X, data.train.X)
    assert not np.array_equal(datasets.toy_set("regularization_2d", None, seed=6).train.X, data.train.X)
    with pytest.raises(ValueError, match="toy set must be one of"):
        datasets.toy_set("swiss_roll", tmp_path)


def test_only_course_files_are_not_stand_ins(tmp_path):
    assert not any(datasets.toy_set(name, tmp_path).standin for name in datasets.TOY_GENERATORS)
    assert not datasets.toy_set("regularization_2d", course_dir()).standin
    assert not datasets.cat_images(course_dir()).standin


def test_require_course_files_names_every_missing_file(tmp_path):
    assert datasets.require_course_files(course_dir()) == course_dir()
    (tmp_path / datasets.TOY_FILE).write_bytes(b"")
    with pytest.raises(DataError, match=f"{tmp_path}: train_catvnoncat.h5, test_catvnoncat.h5 not found"):
        datasets.require_course_files(tmp_path)
    with pytest.raises(DataError, match="no data directory"):
        datasets.require_course_files(None)


def test_shipped_data_is_the_course_data():
    """The project's own copy: the reference sha256 of every file, the same table in its README,
    and, where the team's reference copy is beside the repository, the same bytes."""
    shipped = sorted(p.name for p in datasets.SHIPPED.glob("*.h5"))
    assert shipped == sorted(COURSE_SHA256)
    readme = (datasets.SHIPPED / "README.md").read_text()
    for name, digest in COURSE_SHA256.items():
        data = (datasets.SHIPPED / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest, name
        assert f"| {name} | {len(data)} | {digest} |" in readme
        reference = REPO.parent / "shared" / "data" / name
        if reference.is_file():
            assert reference.read_bytes() == data, name


@pytest.mark.parametrize(("arrays", "problem"), [
    ({"moons/train_X": np.zeros((3, 5)), "moons/train_Y": np.zeros((1, 5), np.int64)},
     r"'moons/train_X' has shape \(3, 5\), expected \(2, m\)"),
    ({"moons/train_X": np.zeros((2, 5)), "moons/train_Y": np.zeros((1, 4), np.int64)},
     "has 4 labels for 5 examples"),
    ({"moons/train_X": np.zeros((2, 5), np.int64), "moons/train_Y": np.zeros((1, 5), np.int64)},
     "expected a float dtype"),
    ({"circles/train_X": np.zeros((2, 5))}, "missing group 'moons'"),
])
def test_bad_toy_files_name_the_file_and_the_problem(tmp_path, arrays, problem):
    write_h5(tmp_path / datasets.TOY_FILE, arrays)
    with pytest.raises(DataError, match=problem) as error:
        datasets.toy_set("moons", tmp_path)
    assert datasets.TOY_FILE in str(error.value)


# --- where the data is -----------------------------------------------------------------------


def test_data_dir_option_then_environment_then_default(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    assert datasets.resolve_data_dir() == tmp_path
    assert datasets.resolve_data_dir(tmp_path / "..") == tmp_path / ".."
    with pytest.raises(ValueError, match="--data-dir '.*nowhere' is not a directory"):
        datasets.resolve_data_dir(tmp_path / "nowhere")
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "gone"))
    with pytest.raises(ValueError, match=f"{datasets.DATA_DIR_ENV} '.*gone' is not a directory"):
        datasets.resolve_data_dir()
    monkeypatch.delenv(datasets.DATA_DIR_ENV)
    assert datasets.resolve_data_dir() == REPO / "experiments" / "data"

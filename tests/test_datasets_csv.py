"""The CSV importer, on small files written here, and its messages on broken ones."""
import numpy as np
import pytest

from app.model.datasets import DatasetError, load_dataset


def _write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def _load(path, **options):
    # No split, no scaling: every row stays in x_train, in file order.
    return load_dataset({"path": str(path), "test_ratio": 0, "scale": "none", **options})


def _error(path, **options) -> str:
    with pytest.raises(DatasetError) as e:
        _load(path, **options)
    return str(e.value)


def test_header_string_labels_and_class_names(tmp_path):
    p = _write(tmp_path, "a,b,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n7,8,versicolor\n")
    ds = _load(p, label="species")
    assert ds.feature_names == ["a", "b"] and ds.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_array_equal(ds.y_train, [0, 2, 0, 1])
    assert ds.y_train.dtype == np.int64 and ds.task == "classification" and ds.num_classes == 3
    assert ds.source == str(p)


def test_quoted_fields_with_commas(tmp_path):
    p = _write(tmp_path, 'x,y,label\n1,2,"big, red"\n"3",4,"small"\n5,6,"big, red"\n')
    ds = _load(p)
    assert ds.class_names == ["big, red", "small"]
    np.testing.assert_array_equal(ds.y_train, [0, 1, 0])
    np.testing.assert_array_equal(ds.x_train[1], [3, 4])


def test_utf8_bom_is_ignored(tmp_path):
    p = _write(tmp_path, "\ufeffheight,width,kind\n1.5,2,a\n2.5,3,b\n")
    ds = _load(p, label="kind")
    assert ds.feature_names == ["height", "width"]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_delimiter_detected(tmp_path, delimiter):
    rows = [["f1", "f2", "f3", "y"], ["1.5", "2", "3", "0"], ["4", "5.5", "6", "1"], ["7", "8", "9.5", "1"]]
    p = _write(tmp_path, "\n".join(delimiter.join(r) for r in rows) + "\n")
    ds = _load(p)
    assert ds.x_train.shape == (3, 3) and ds.feature_names == ["f1", "f2", "f3"]
    np.testing.assert_array_equal(ds.y_train, [0, 1, 1])


def test_delimiter_given_and_tab_alias(tmp_path):
    p = _write(tmp_path, "1\t2\t0\n3\t4\t1\n")
    assert _load(p, delimiter="tab").x_train.shape == (2, 2)
    assert _load(p, delimiter="\t").x_train.shape == (2, 2)


def test_no_header_detected_and_given(tmp_path):
    p = _write(tmp_path, "1,2,0\n3,4,1\n5,6,2\n")
    ds = _load(p)
    assert ds.x_train.shape == (3, 2) and ds.feature_names == ["col0", "col1"]
    assert ds.class_names == ["0", "1", "2"]
    assert _load(p, header=False).x_train.shape == (3, 2)


def test_label_by_index_and_integer_labels_mapped(tmp_path):
    p = _write(tmp_path, "grade,x1,x2\n3,0.5,1\n1,0.25,2\n3,1,3\n")
    ds = _load(p, label=0)
    assert ds.class_names == ["1", "3"] and list(ds.y_train) == [1, 0, 1]
    assert ds.feature_names == ["x1", "x2"]


def test_float_labels_are_regression_and_task_option(tmp_path):
    p = _write(tmp_path, "x1,x2,target\n1,2,0.5\n3,4,1.25\n5,6,-2\n")
    ds = _load(p)
    assert ds.task == "regression" and ds.y_train.shape == (3, 1) and ds.target_shape == (1,)
    np.testing.assert_allclose(ds.y_train[:, 0], [0.5, 1.25, -2])
    p = _write(tmp_path, "x1,target\n1,2\n3,4\n", name="ints.csv")
    assert _load(p, task="regression").y_train.dtype == np.float32


def test_several_target_columns(tmp_path):
    p = _write(tmp_path, "a,b,t1,t2\n1,2,3,4\n5,6,7,8\n")
    ds = _load(p, label=["t1", "t2"])
    assert ds.task == "regression" and ds.y_train.shape == (2, 2) and ds.feature_names == ["a", "b"]


MISSING = "a,b,label\n1,2,x\n3,NA,y\n5,?,x\n,8,y\n9,10,x\n"


def test_missing_value_is_an_error_by_default(tmp_path):
    msg = _error(_write(tmp_path, MISSING))
    assert "line 3" in msg and "column 'b' (index 1)" in msg and "'NA'" in msg
    assert "3 missing" in msg and "fill_mean" in msg


def test_missing_drop(tmp_path):
    ds = _load(_write(tmp_path, MISSING), missing="drop")
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [9, 10]])
    assert any("dropped 3 row" in n for n in ds.notes)


def test_missing_fill_zero(tmp_path):
    ds = _load(_write(tmp_path, MISSING), missing="fill_zero")
    np.testing.assert_array_equal(ds.x_train, [[1, 2], [3, 0], [5, 0], [0, 8], [9, 10]])


def test_missing_fill_mean(tmp_path):
    ds = _load(_write(tmp_path, MISSING), missing="fill_mean")
    np.testing.assert_allclose(ds.x_train, [[1, 2], [3, 20 / 3], [5, 20 / 3], [4.5, 8], [9, 10]])
    assert "missing feature values: 3" in ds.summary()


def test_missing_label_row_dropped_unless_error(tmp_path):
    p = _write(tmp_path, "a,label\n1,x\n2,\n3,y\n")
    assert "line 3" in _error(p) and "column 'label'" in _error(p)
    ds = _load(p, missing="fill_zero")
    np.testing.assert_array_equal(ds.x_train[:, 0], [1, 3])


def test_ragged_row(tmp_path):
    msg = _error(_write(tmp_path, "a,b,c\n1,2,0\n3,4\n"))
    assert "line 3" in msg and "expected 3 fields" in msg and "found 2" in msg


def test_non_numeric_cell_names_row_column_value(tmp_path):
    msg = _error(_write(tmp_path, "a,b,c,label\n1,2,3,x\n4,5,6,y\n7,eight,9,x\n"))
    assert "line 4" in msg and "column 'b' (index 1)" in msg and "'eight'" in msg and "data.csv" in msg


def test_line_numbers_count_blank_lines_and_multiline_quotes(tmp_path):
    msg = _error(_write(tmp_path, 'a,b,label\n1,2,"two\nlines"\n\n3,4,y\nbad,5,x\n'))
    assert "line 6" in msg and "'bad'" in msg


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path, text):
    assert "empty" in _error(_write(tmp_path, text))


def test_header_only(tmp_path):
    assert "no data rows" in _error(_write(tmp_path, "a,b,label\n"))


def test_unknown_label_column_lists_columns(tmp_path):
    msg = _error(_write(tmp_path, "a,b,label\n1,2,x\n"), label="species")
    assert "'species'" in msg and "a, b, label" in msg


def test_label_name_without_header(tmp_path):
    assert "no header row" in _error(_write(tmp_path, "1,2,0\n3,4,1\n"), label="y")


def test_not_utf8_names_offset(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    assert "byte 0xe9 at offset 9" in _error(p)


def test_gzipped_csv(tmp_path):
    import gzip

    p = tmp_path / "data.csv.gz"
    p.write_bytes(gzip.compress(b"a,b,y\n1,2,0\n3,4,1\n"))
    assert _load(p).x_train.shape == (2, 2)


def test_bundled_iris_csv_reads_as_a_plain_csv():
    from app.model.datasets import assets_dir

    ds = _load(assets_dir() / "iris.csv", label="species")
    assert ds.x_train.shape == (150, 4) and ds.num_classes == 3


@pytest.mark.parametrize("at, label", [(3, -1), (0, 0), (1, 1), (2, "kind")])
def test_fast_and_careful_parsers_agree(tmp_path, at, label):
    table = [["a", "b", "c"], ["1", "2.5", "3"], [" 4", "5", "6e1"], ["7", "-8", "9"], ["10", "11", "+12"]]
    for row, kind in zip(table, ["kind", "x", "y", "x", "z"]):
        row.insert(at, kind)
    rows = [",".join(r) for r in table]
    rows.insert(4, "")  # a blank line
    plain = _write(tmp_path, "\r\n".join(rows) + "\r\n", name="plain.csv")
    quoted = _write(tmp_path, "\n".join(rows).replace("-8", '"-8"') + "\n", name="quoted.csv")
    a, b = _load(plain, label=label), _load(quoted, label=label)
    np.testing.assert_array_equal(a.x_train, [[1, 2.5, 3], [4, 5, 60], [7, -8, 9], [10, 11, 12]])
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_train, [0, 1, 0, 2])
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert a.feature_names == b.feature_names == ["a", "b", "c"] and a.class_names == b.class_names

"""`wiregrad data inspect`."""
from app.datasets_cli import inspect_main


def test_inspect_csv_prints_classes(tmp_path, capsys):
    p = tmp_path / "pets.csv"
    p.write_text("weight;height;kind\n4;30;cat\n30;60;dog\n5;25;cat\n")
    assert inspect_main([str(p), "--label", "kind"]) == 0
    out = capsys.readouterr().out
    assert "classification, 2 classes" in out and "cat" in out and "dog" in out
    assert "weight  4 .. 30" in out  # raw values: inspect does not scale
    assert str(p) in out


def test_inspect_builtin_and_options(tmp_path, capsys):
    assert inspect_main(["spiral"]) == 0
    assert "built-in spiral" in capsys.readouterr().out
    p = tmp_path / "raw.csv"
    p.write_text("1,2,0\n3,,1\n5,6,1\n")
    assert inspect_main([str(p), "--no-header", "--label", "-1", "--missing", "drop"]) == 0
    assert "dropped 1 row" in capsys.readouterr().out


def test_inspect_bad_file_exits_1_with_message(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,label\n1,2,x\n3,oops,y\n")
    assert inspect_main([str(p)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "'oops'" in err and "bad.csv" in err


def test_inspect_usage_error_returns_2(capsys):
    assert inspect_main([]) == 2
    assert "usage: wiregrad data inspect" in capsys.readouterr().err


def test_option_problems_name_the_flag_not_the_json_key(tmp_path, capsys):
    p = tmp_path / "pets.csv"
    p.write_text("weight,height,kind\n4,30,cat\n30,60,dog\n")
    assert inspect_main([str(p), "--delimiter", ";;"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --delimiter: expected one character") and "training.dataset" not in err
    assert "null" not in err, err
    assert inspect_main([str(p), "--size", "8", "8"]) == 1
    assert capsys.readouterr().err.strip() == "error: --size: not an option for csv data"

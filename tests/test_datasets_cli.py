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


def test_header_found_though_the_first_data_row_is_blank_and_forced_with_header(tmp_path, capsys):
    p = tmp_path / "gaps.csv"
    p.write_text("x,y,cls\n,NA,b\n1,2,a\n3,4,b\n5,,a\n")
    assert inspect_main([str(p), "--missing", "fill_mean"]) == 0
    out = capsys.readouterr().out
    assert "samples: 4" in out and "x " in out, out
    q = tmp_path / "words.csv"                       # a header of numbers-like names can't be told apart
    q.write_text("1,2,label\n1,2,a\n3,4,b\n")
    assert inspect_main([str(q), "--header"]) == 0
    assert "samples: 2" in capsys.readouterr().out


def test_messages_point_at_flags_and_built_ins(tmp_path, capsys):
    p = tmp_path / "pipes.csv"
    p.write_text("a|b|c\n1|2|0\n3|4|1\n")
    assert inspect_main([str(p)]) == 1
    assert "is the delimiter right? (give --delimiter" in capsys.readouterr().err
    assert inspect_main(["Iris"]) == 1
    err = capsys.readouterr().err
    assert "did you mean 'iris'?" in err and "spiral" in err
    one = tmp_path / "one.csv"
    one.write_text("a,b,kind\n1,2,cat\n3,4,cat\n")
    assert inspect_main([str(one)]) == 0
    assert "1 class (a classifier needs two or more" in capsys.readouterr().out


def test_a_reader_that_leaves_early_gets_no_traceback():
    import subprocess
    import sys
    from pathlib import Path
    proc = subprocess.Popen([sys.executable, "-m", "app", "data", "inspect", "digits"],
                            cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()                              # `| head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_header_on_a_built_in_names_the_flag_given(capsys):
    assert inspect_main(["iris", "--header"]) == 1
    assert "--header/--no-header: not an option for iris data" in capsys.readouterr().err

"The command line as a new user meets it: fast help, one-line errors with the right exit status, nothing partial."
import inspect
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, interruptible, refused
from specx_nb.cli import cli_parser, main
from specx_nb.population_study import run_population_study
from specx_nb.study import run_study

CLI = shutil.which("specx-nb")
SMALL = ["--num-samples", "256", "--band-obs-per-class", "3", "--trust-per-class", "1", "--stability-counts", "64",
         "--quiet"]
HEAVY = ("torch", "matplotlib", "numpy", "specx_nb.study", "specx_nb.train")


def specx_nb(*args, **kwargs):
    "Run the installed command; return the finished process."
    return subprocess.run([CLI, *args], capture_output=True, text=True, **kwargs)


def test_help_imports_nothing_heavy():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "specx_nb", "study", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "--band-obs-per-class" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "specx_nb.cli" in imported
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_help_is_fast():
    for args in (["--help"], ["study", "--help"]):
        start = time.perf_counter()
        result = specx_nb(*args)
        seconds = time.perf_counter() - start
        assert result.returncode == 0 and "usage: specx-nb" in result.stdout
        assert seconds < 1.5, f"specx-nb {' '.join(args)} took {seconds:.2f} s"  # about 0.05 s; generous for CI


def test_version_and_python_m_are_the_same_command():
    version = specx_nb("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == "specx-nb " + next(
        line.split("=")[1].strip() for line in (ROOT / "settings.ini").read_text().splitlines()
        if line.startswith("version"))
    same = subprocess.run([sys.executable, "-m", "specx_nb", "--version"], capture_output=True, text=True)
    assert (same.returncode, same.stdout) == (0, version.stdout)
    assert subprocess.run([sys.executable, "-m", "specx_nb", "--help"], capture_output=True,
                          text=True).stdout == specx_nb("--help").stdout


@pytest.mark.parametrize("command, function", [("study", run_study), ("population", run_population_study)])
def test_help_shows_the_defaults_of_the_function(command, function):
    "The defaults that --help shows are the function's; an option left out passes nothing, so the function's applies."
    parsed = vars(cli_parser().parse_args([command, "--out", "x"]))
    given = {k: parsed[k] for k in parsed["settings"] if parsed[k] is not None}
    assert given == {k: inspect.signature(function).parameters[k].default for k in given}
    assert set(parsed["settings"]) <= set(inspect.signature(function).parameters)


def test_help_does_not_repeat_the_stability_counts():
    result = specx_nb("study", "--help")
    assert "the study's" in result.stdout and "8192" not in result.stdout


BAD = [(["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"), (["--num-samples", "abc"], "--num-samples"),
       (["--num-samples", "0"], "--num-samples"), (["--obs-per-class", "101"], "--obs-per-class"),
       (["--obs-per-class", "-1"], "--obs-per-class"), (["--band-obs-per-class", "100000"], "--band-obs-per-class"),
       (["--trust-per-class", "101"], "--trust-per-class"), (["--stability-counts", "512", "256"], "--stability-counts"),
       (["--device", "tpu"], "--device"), (["--device", "cuda:99"], "--device"), (["--device", "meta"], "--device")]


@pytest.mark.parametrize("option, name", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_option_is_one_line_naming_it_and_writes_nothing(tmp_path, capsys, option, name):
    status, err = refused(capsys, "study", "--out", str(tmp_path / "out"), *option)
    assert status == 2
    assert len(err.splitlines()) == 1 and f"argument {name}:" in err, err
    assert "_positive_int" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_installed_command_refuses_a_bad_option_in_one_line(tmp_path):
    "The same refusal from the installed command in a process of its own: exit status 2, one line, nothing written."
    result = specx_nb("study", "--out", str(tmp_path / "out"), "--num-samples", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["specx-nb study: error: argument --num-samples: must be at least 1, got 0 "
                                          "(see specx-nb study --help)"], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cuda_without_a_gpu_fails_before_any_work(tmp_path, capsys):
    import torch
    if torch.cuda.is_available(): pytest.skip("this machine has a GPU")
    status, err = refused(capsys, "study", "--out", str(tmp_path / "out"), "--device", "cuda")
    assert status == 2 and err.count("\n") == 1
    assert "argument --device: 'cuda' is not available on this machine" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("folder, cause", [("/proc", "No such file or directory"), ("/sys", "")])
def test_out_where_no_folder_can_be_made_is_refused_naming_the_option(tmp_path, capsys, monkeypatch, folder, cause):
    "/proc exists but takes no new folder: the error names --out, the folder asked for and the real cause."
    if not os.path.isdir(folder): pytest.skip(f"no {folder} here")
    monkeypatch.chdir(tmp_path)
    status, err = refused(capsys, "study", "--out", f"{folder}/nope")
    assert status == 2 and err.count("\n") == 1, err
    assert err.startswith(f"specx-nb study: error: argument --out: cannot create {folder}/nope: {folder} "
                          f"takes no new folder ({cause}"), err
    assert err.endswith("(see specx-nb study --help)\n")
    assert list(tmp_path.iterdir()) == []


def test_unknown_option_points_to_the_commands_help(tmp_path, capsys):
    for command in ("study", "population"):
        status, err = refused(capsys, command, "--out", str(tmp_path / "out"), "--samples", "10")
        assert status == 2
        assert err == (f"specx-nb {command}: error: unrecognized arguments: --samples 10 "
                       f"(see specx-nb {command} --help)\n")
    assert list(tmp_path.iterdir()) == []


def test_out_under_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    status, err = refused(capsys, "study", "--out", str(tmp_path / "file" / "out"))
    assert status == 2 and err.count("\n") == 1 and "argument --out:" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.fixture
def read_only_folder(tmp_path):
    "A folder on a read-only file system (a tmpfs mounted read-only), or a skip where mounting is not allowed."
    folder = tmp_path / "read-only"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a read-only file system here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_read_only_file_system_is_refused_before_any_work_naming_the_option(read_only_folder, capsys):
    out = read_only_folder / "results"
    status, err = refused(capsys, "study", "--out", str(out), "--quiet")
    assert status == 2
    assert err.splitlines() == [f"specx-nb study: error: argument --out: cannot create {out}: "
                                f"{read_only_folder} takes no new folder (Read-only file system) "
                                "(see specx-nb study --help)"], err


def test_a_cleanup_error_does_not_hide_the_first(tmp_path, monkeypatch, capsys):
    "A step fails for want of space and the cleanup fails too: the message is the first error, the target untouched."
    import specx_nb.study as study
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    def full(run): raise OSError(28, "No space left on device", str(run.folder / "model.pt"))
    monkeypatch.setattr(study, "_STEPS", {"data": study._simulate, "network": full})
    monkeypatch.setattr(shutil, "rmtree", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
    assert main(["study", "--out", str(out), "--overwrite", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("specx-nb: error: No space left on device: ") and err.count("\n") == 1, err
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_ctrl_c_prints_one_line_and_leaves_the_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    process = subprocess.Popen([CLI, "study", "--out", str(out), "--overwrite", *SMALL], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while not any(tmp_path.glob(".out.partial-*/*.png")):  # work has started: a figure is written
        assert process.poll() is None and time.monotonic() < deadline, "the study ended or never started work"
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err.splitlines() == ["specx-nb: interrupted; nothing was written"], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no hidden folder left
    assert [p.name for p in out.iterdir()] == ["old.txt"]

"""What tests/mpi_check.py and tests/slurm_check.py share: the paths of the tree and the grid they run, the
skip convention (exit 77 with the reason), processes left running, and the comparison of two results folders."""
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
GRID = HERE / "data" / "cluster.yaml"
SKIP = 77


def ancestors():
    """This process and the ones that started it (their command lines may name the work folder)."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def skip(reason):
    print(f"SKIPPED: {reason}")
    sys.exit(SKIP)


def stray_processes(path):
    """Pids of the processes whose command line names `path`, other than this one and its ancestors."""
    found = subprocess.run(["pgrep", "-f", str(path)], capture_output=True, text=True).stdout.split()
    return [p for p in found if int(p) not in ancestors()]


def compare_results(reference, other, **kw):
    """scripts/compare_results.py REFERENCE OTHER: exit 0 when every cell is bit-identical."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "compare_results.py"), str(reference), str(other)],
                          capture_output=True, text=True, **kw)

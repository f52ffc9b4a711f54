"""The benchmark in its small CI mode: correctness at (small) scale only;
no timing is asserted here (timings are read by hand, in full mode)."""

import subprocess
import sys

from conftest import ROOT


def test_benchmark_small_mode_counts_match_the_generators_truth(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_ingest.py"), "--small",
                           "--keep", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "correctness: OK" in proc.stdout


def test_fleet_benchmark_small_mode_postgres_hosts_agree_with_one_sqlite_writer(request):
    from conftest import _postgres_base, postgres_url
    postgres_url(request)  # skips (or fails in CI) without a server
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_fleet.py"), "--small",
                           "--db-url", _postgres_base()], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "correctness: OK" in proc.stdout

"""A worker's CPU and memory, as the benchmarks read them from /proc, include its children's:
the render processes do a worker's work. A busy child shows in the parent's figures while it
runs, and after it has been waited for."""

import os
import subprocess
import sys
import time

from devstack.bench.memory import children, cpu_seconds, rss_mib

BUSY = (
    "import time\n"
    "while time.process_time() < 0.6: pass\n"  # 0.6 s of CPU, then idle until killed
    "print('done', flush=True)\n"
    "time.sleep(60)\n"
)


def test_a_live_child_s_cpu_and_memory_count_as_the_parent_s() -> None:
    me = os.getpid()
    before = cpu_seconds(me)
    alone = rss_mib(me)
    with subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True) as child:
        try:
            _check_counted(me, child, before, alone)
        finally:
            child.kill()


def _check_counted(me: int, child: "subprocess.Popen[str]", before: float, alone: float) -> None:
    assert child.stdout is not None and child.stdout.readline() == "done\n"
    assert child.pid in children(me)
    # This process mostly waited on the pipe: the 0.6 s are the child's.
    assert cpu_seconds(me) - before >= 0.55
    assert rss_mib(me) > alone


def test_a_child_waited_for_still_counts() -> None:
    me = os.getpid()
    before = cpu_seconds(me)
    subprocess.run([sys.executable, "-c", BUSY.replace("time.sleep(60)", "")], check=True)
    time.sleep(0.05)
    assert cpu_seconds(me) - before >= 0.55

"""Whether a process the test started is still running, read from /proc."""

from pathlib import Path


def alive(pid: int) -> bool:
    try:
        # The state is the first field after the command, which is in parentheses.
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; its parent has yet to reap it

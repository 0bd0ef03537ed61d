"""Where commands write errors and progress: stderr, without hard wraps, so a long path or
id in a message stays whole on one line for a person to copy back into a shell."""

from rich.console import Console

err = Console(stderr=True, soft_wrap=True)

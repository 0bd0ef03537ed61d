"""The business keys `q2c chaos` fires runs for, apart from the chaos machinery so that the
command line can name the limit in its help without loading the stack."""

# Seeded contracts that bill straight through (C-1009 waits for approval, C-1010 is broken).
CONTRACTS = tuple(f"C-{n}" for n in (1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1011, 1012))
MONTHS = range(1, 13)
MAX_RUNS = len(CONTRACTS) * len(MONTHS)

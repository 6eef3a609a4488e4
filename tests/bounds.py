"""How long a test waits for a run, a search or a counted event before calling it hung.

Only a hang bound: the tests count events, never time them, and a machine loaded three times over
must stay far inside it. Under `stress-ng --cpu 4` on 2 cores, Ray's workers (which Ray runs at nice
15) got a small share of the CPU: the multi-host search-fault test, a few minutes quiet, took 23 minutes,
and the training-fault test 54.
"""

HANG_S = 3600.0

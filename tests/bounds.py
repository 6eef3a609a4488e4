"""How long a test waits for a run, a search or a counted event before calling it hung.

Only a hang bound: the tests count events, never time them, and a machine loaded three times over
must stay far inside it. Under `stress-ng --cpu 4` on 2 cores, Ray's workers (which Ray runs at nice
15) got about a twentieth of their quiet CPU: a multi-host search that takes a minute quiet took 20.
"""

HANG_S = 3600.0

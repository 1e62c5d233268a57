"""Running a notebook: papermill's engine, the kernels it starts (sandboxed, or forked from a
warm zygote), the limits each run is held to, and where runs execute (here or on Dask).

``execute.run_notebook`` is the entry point; it never raises for what a notebook did, and
says how the run ended in a ``RunOutcome``. The zygote and ``kernelapp`` run inside the
sandbox; everything else here runs in the grader.
"""

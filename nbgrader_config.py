# nbgrader reads nbgrader_config.py from the working directory; the real settings live in
# jupyter_config.py so that Jupyter, nbgrader and the autograder share one file.
load_subconfig("jupyter_config.py")  # noqa: F821

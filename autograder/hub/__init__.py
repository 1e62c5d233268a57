"""A class on JupyterHub: the course's hub, its learners' and instructors' servers.

``jupyterhub_config.py`` in the course directory is the file an instructor reads and edits;
it uses this package for what is not a plain setting: who may log in and in which groups
(``auth``), how each person's server starts, confined and limited (``spawner``, ``limits``,
``reach``), and the files the hub prepares before it starts (``course``).
"""

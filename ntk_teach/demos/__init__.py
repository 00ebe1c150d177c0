"""Notebook-specific demos: one module per notebook, ``nbNN_<topic>.py``.

Each module defines its demos with the pattern of :mod:`ntk_teach.viz.demo`
(a :class:`~ntk_teach.viz.Demo` subclass decorated with
:func:`~ntk_teach.viz.register_demo`, plus ``plot_x = viz.plot_function(X)``) and
nothing else a notebook needs to paste. ``ntk_teach.viz.registered_demos()``
imports every module here, so scripts and tests find all demos.

Modules: ``nb00_start_here`` (course map, the live slider of the environment check);
``nb01_...`` to ``nb07_...`` are written by the notebook authors.
"""

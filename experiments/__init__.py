"""Twinprop's experiments: each reproduces one claim of the material with the NumPy and the torch
implementation side by side, logs both to TensorBoard and returns its metrics.

    python -m experiments list | run NAME ... | all [options] | report

Layout: cli (the command line), settings (its checked options), runner (the Experiment an
experiment module declares; running it; divergence; results.json), sides and trainers (either
implementation behind one interface, the Protocols sides.Side and sides.NetworkSide, trained
through the shared loops with logging), optimisation (the course's moons set-up shared by three
experiments), datasets and generators (the course's HDF5 files, validated, and data made by
code), tblog and figures (TensorBoard), report (the results table), catalog/ (one module per
experiment), bench/ (the performance benchmark: ``python -m experiments bench``).
"""

"""Twinprop's experiments: each reproduces one claim of the material with the NumPy and the torch
implementation side by side, logs both to TensorBoard and returns its metrics.

    python -m experiments list | run NAME ... | all [options] | report

Layout: cli (the command line), runner (settings, Experiment, running and divergence),
trainers and sides (training either implementation through the shared loops), datasets and
generators (the course's HDF5 files, validated, and data made by code), tblog and figures
(TensorBoard), report (the results table), catalog/ (one module per experiment).
"""

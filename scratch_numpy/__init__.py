"""Twinprop's from-scratch side: NumPy only, examples in columns (the course's layout).

Never imports torch (parity_tests/test_validation.py enforces it).
"""

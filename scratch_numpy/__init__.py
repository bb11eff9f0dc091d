"""Twinprop's from-scratch side: NumPy only, examples in columns (the course's layout).

Never imports torch (parity_tests/contract/test_cross_cutting.py enforces it).
"""

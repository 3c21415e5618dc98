"""Utilities shared by skmetric's estimators."""

"""Textbook models, twins of the Promela models SPIN is compared with."""

"""Figures and sections of the analytics pages, so each page reads as a short storyboard."""

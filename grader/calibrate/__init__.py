"""Fitting what the engine uses: the combiner on the fixtures (``grader fit``, combiner.py) and a
calibration to human marks (``grader calibrate``, fit.py; the fitted model is applied by
:mod:`grader.score.calibration`)."""

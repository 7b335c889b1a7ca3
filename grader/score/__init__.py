"""The score stage: evidence + the combiner's parameters -> GradeResult (and the trace ``grader explain`` renders).

``params`` (CombinerParams), ``combine`` (probabilities), ``guards`` (what misconceptions and the
answer-level signals do to the score), ``grade`` (the result and its trace), ``calibration``
(an optional fitted map of the result onto a human scale). Nothing is imported here, so that
applying a calibration stays light.
"""

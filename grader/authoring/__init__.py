"""Authoring tools that need the model: ``grader lint`` (lint), ``grader test-rubrics`` (rubric_tests), ``grader explain`` (explain)."""

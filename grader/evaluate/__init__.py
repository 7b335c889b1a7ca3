"""Agreement with human scores: graded fixtures (``fixtures``), labelled CSVs (``labelled``), the figures
(``metrics``), the reports ``grader evaluate`` prints (``report``) and the calibration plot (``plot``)."""

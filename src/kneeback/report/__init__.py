"""Results, reports, plots and annotated videos."""

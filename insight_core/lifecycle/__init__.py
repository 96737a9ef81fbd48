"""How models are made and chosen: fitting, tuning, the MLflow pyfunc wrapper, the champion
alias, promotion, refit and evaluation."""

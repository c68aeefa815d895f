"""The book's figures: how each fits the page (`layout`: panels in grids of two columns, the page's font
sizes, the legibility a chapter records for every figure) and the study's verification figures
(`verification`: reliability diagram, ROC, skill-score profile, and Figures 6-11).

The verification figures are named here too, as the chapters call them (`plots.verification_figure`).
"""

from flarelib.plots.verification import (
    FIGURES,
    STACKING_METHODS,
    plot_alphas,
    plot_history,
    plot_learning_curve,
    plot_one_experiment,
    plot_reliability,
    plot_roc,
    plot_skill_profile,
    plot_stacking_tss,
    reliability,
    runs_of,
    study_figures,
    usable_runs,
    verification_figure,
)

__all__ = ["FIGURES", "STACKING_METHODS", "plot_alphas", "plot_history", "plot_learning_curve", "plot_one_experiment", "plot_reliability",
           "plot_roc", "plot_skill_profile", "plot_stacking_tss", "reliability", "runs_of", "study_figures",
           "usable_runs", "verification_figure"]

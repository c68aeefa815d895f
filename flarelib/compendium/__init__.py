"""The compendium's machinery, not its science: parameter sets, the chapter order, the runner that
executes chapters with papermill into a run folder, the chapter handle notebooks use, the Jupyter Book
build and the command line."""

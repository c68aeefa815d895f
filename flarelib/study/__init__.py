"""The study: its published numbers (`published`, typed in from its tables, nothing computed) and its
findings beside what a run measured (`verdicts`). Both are read through this package, as `study.TABLE6`
or `study.findings(run_dir)`."""

from flarelib.study.verdicts import *  # noqa: F401,F403
from flarelib.study.published import *  # noqa: F401,F403

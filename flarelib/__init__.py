"""flarelib: the tested helper library of the flare-forecasting compendium.

All computation lives here; the chapter notebooks call it, show results and explain them.
"""

from flarelib.compendium.chapter import Chapter, open_chapter, read_record, source_caption
from flarelib.compendium.notebook import use_run

__all__ = ["Chapter", "open_chapter", "read_record", "source_caption", "use_run"]
__version__ = "0.1.0"

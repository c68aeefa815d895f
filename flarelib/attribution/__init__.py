"""Explaining the CNN (chapter 08): captum attribution methods and the bipole grid (`methods`), the
region folds and quiet-to-imminent sequences explained out of sample (`sequences`), and their figures
(`figures`)."""

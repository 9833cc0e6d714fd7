"""异议: objections during public notice (REG-31/32) and after registration (REG-33), and their outcomes."""

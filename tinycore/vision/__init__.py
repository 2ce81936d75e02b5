"""The image side shared by the vision apps (VWW, detection): scene rendering for built-in data sets (`render`)."""

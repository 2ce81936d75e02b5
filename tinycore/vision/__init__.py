"""The image side shared by the vision apps (VWW, detection): the camera-frame front end (`frontend`, C twin in
`c/`) and scene rendering for built-in data sets (`render`)."""

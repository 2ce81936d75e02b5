"""The image side shared by the vision apps (VWW, detection): the camera-frame front end (`frontend`, C twin in
`c/`), box decode + class-wise NMS of a centre heat-map detection head (`detect`, C twin `c/tc_detect.c`) and
scene rendering for built-in data sets (`render`)."""

"""Specs that together use every layer kind and every padding path; shared by the spec tests."""
from tinycore.spec import (FC, AvgPool, Conv, Dropout, DWSep, Flatten, GlobalPool, InputSpec, MaxPool, MBConv,
                           ModelSpec, Residual)

EVERY_KIND = ModelSpec(
    name="every_kind",
    input=InputSpec(channels=3, height=23, width=17),
    stem=(Conv(8, kernel=(2, 2), stride=1, padding="same", act="relu6"),   # even kernel: ZeroPad2d (0, 1, 0, 1)
          Conv(12, kernel=3, stride=(2, 1), padding=(1, 0, 2, 1), act="none", bn=False),  # explicit asymmetric
          MaxPool(kernel=2)),
    blocks=(
        DWSep(16, kernel=5, stride=2),
        MBConv(16, expand=1, kernel=3, stride=1),           # no expansion conv, residual
        MBConv(24, expand=6, kernel=5, stride=2),
        MBConv(24, expand=4, kernel=7, stride=1),           # residual
        Residual(body=(Conv(24, kernel=3), Conv(24, kernel=1, act="none"))),
        AvgPool(kernel=3, stride=1, padding=1),
        Conv(32, kernel=(1, 3), stride=1, padding="valid"),
    ),
    head=(GlobalPool(), Flatten(), Dropout(0.1), FC(20, act="relu", bn=True), FC(20, act="relu6"), FC(5)),
)

FEATURES_ONLY = ModelSpec(
    name="mlp",
    input=InputSpec(features=40),
    blocks=(FC(16, act="relu"), Dropout(0.2), FC(16, act="relu", bn=True)),
    head=(FC(3),),
)

CASES = {"every_kind": EVERY_KIND, "features_only": FEATURES_ONLY}

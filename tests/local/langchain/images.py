"""A 1x1 PNG, so that image tests need no download."""

import base64

PNG_1X1_B64 = "".join(
    (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE",
        "hQGAhKmMIQAAAABJRU5ErkJggg==",
    )
)
PNG_1X1 = base64.b64decode(PNG_1X1_B64)

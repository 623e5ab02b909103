"""A stand-in API server for the pm2-pair example: prints a line every second, forever."""

import os
import time

while True:
    print(
        f"api on port {os.environ.get('PORT', '?')} ({os.environ.get('APP_ENV', '?')})", flush=True
    )
    time.sleep(1)

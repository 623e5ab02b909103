"""A Flask app run with Flask's own development server (app.run); answers its pid."""

import logging
import os
import sys

from flask import Flask

app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@app.get("/")
def pid() -> str:
    return str(os.getpid())


if __name__ == "__main__":
    print("serving", flush=True)
    app.run(host="127.0.0.1", port=int(sys.argv[1]))

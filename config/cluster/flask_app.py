"""An ordinary Flask app that runs its own development server on a port, unchanged.

Under corral with `instances = 4` its app.run(port=8000) gets the socket corral shares
(the cluster shim), so four processes serve port 8000. See config/cluster/flask.toml.
"""

import os

from flask import Flask

app = Flask(__name__)


@app.get("/")
def pid() -> str:
    return str(os.getpid())


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))

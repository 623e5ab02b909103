"""corral's cluster shim for Python apps (put first on PYTHONPATH by corral).

It installs the hook in _corral_shim, then runs the `sitecustomize` this one hides (the
app's, its virtualenv's or the system's), so an app keeps its own start-up code.
"""

import _corral_shim

_corral_shim.install()
_corral_shim.chain("sitecustomize", __file__)

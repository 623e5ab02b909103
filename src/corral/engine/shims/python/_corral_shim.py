"""corral's cluster shim: an app's own bind() of a TCP port uses the socket corral shares.

Loaded by the sitecustomize next to it when corral runs a Python app in cluster mode
(CORRAL_BROKER_FD names the inherited channel). A bind() of a TCP address with a port
asks corral for that address; corral binds it once for all instances (and keeps it
across reloads) and sends the listening socket back; it is put in place of the app's
own socket (same fd number), so the app's listen() and accept() work unchanged and
every instance accepts from one kernel queue. Anything else binds for real.

On the stop signal (SIGINT/SIGTERM) the process stops taking new connections at once,
lets the ones it took finish for a moment (CORRAL_DRAIN_MS), then the signal does what
it would have done (the default, or the handler the app had installed before binding).
Standard library only, and old syntax: the app's Python runs this.
"""

from __future__ import annotations

import os
import socket
import sys
import weakref

# Everything else is imported when first needed: this runs before every start of the app.

REPLY_TIMEOUT_S = 30.0
"""How long a bind() waits for corral's answer (it binds at once; this is a guard)."""
BACKLOG = 1024

_channel = None
_shared = weakref.WeakSet()
_real_bind = socket.socket.bind
_real_listen = socket.socket.listen
_real_accept = socket.socket.accept
_drain_s = 0.5
_handled = {}


def install():
    """Wrap socket.bind/listen/accept when corral gave this process a channel."""
    global _channel, _drain_s
    fd = os.environ.get("CORRAL_BROKER_FD")
    if not fd or _channel is not None:
        return
    try:
        _channel = int(fd)
        os.fstat(_channel)
    except (OSError, ValueError):
        _channel = None
        return  # a process that did not inherit it (closed before exec): bind for real
    try:
        _drain_s = int(os.environ.get("CORRAL_DRAIN_MS", "500")) / 1000
    except ValueError:
        pass
    socket.socket.bind = _bind
    socket.socket.listen = _listen
    socket.socket.accept = _accept


def chain(name, here):
    """Run the module NAME found on sys.path after HERE's folder, as NAME."""
    folder = os.path.dirname(os.path.abspath(here))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != folder]
    if not any(
        os.path.exists(os.path.join(p or os.curdir, name + ".py"))
        or os.path.isdir(os.path.join(p or os.curdir, name))
        for p in path
    ):
        return  # the common case, without importlib's machinery
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec(name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)


def _bind(self, address):
    fd = _ask(self, address)
    if fd is None:
        return _real_bind(self, address)
    try:
        os.dup2(fd, self.fileno(), inheritable=self.get_inheritable())
    finally:
        os.close(fd)
    if self.gettimeout() == 0:
        self.setblocking(False)  # asyncio and co. set it before bind: keep it
    _shared.add(self)
    _handle_stop_signals()
    return None


def _listen(self, *backlog):
    if self in _shared:
        return None  # already listening; a small backlog here would shrink everyone's queue
    return _real_listen(self, *backlog)


def _accept(self):
    # The instances share one socket, and O_NONBLOCK with it (asyncio or Node may set it):
    # a blocking accept() that finds the queue emptied by another instance waits again.
    # Except under socketserver (http.server, wsgiref, Flask's and Django's servers): its
    # loop selects before it accepts and ignores an OSError from accept(), and waiting here
    # kept it from ever seeing its shutdown(): a server whose own signal handler calls
    # shutdown() waited, once stopping, for corral's SIGKILL.
    while True:
        try:
            return _real_accept(self)
        except BlockingIOError:
            if self not in _shared or self.gettimeout() is not None or _socketserver_asks():
                raise
            import select

            select.select([self], [], [])


def _socketserver_asks():
    """True when accept() was called by socketserver's get_request."""
    frame = sys._getframe(2)
    return frame.f_code.co_name == "get_request" and frame.f_globals.get("__name__") == (
        "socketserver"
    )


def _ask(sock, address):
    """The listening fd corral shares for ADDRESS, or None when it is not corral's to give."""
    import array
    import errno
    import json

    if _channel is None or sock.type != socket.SOCK_STREAM:
        return None
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock in _shared:
        return None
    if not isinstance(address, tuple) or len(address) < 2 or not address[1]:
        return None  # port 0: a private ephemeral port is nobody else's business
    family = "inet6" if sock.family == socket.AF_INET6 else "inet"
    host = _numeric(sock.family, address[0], address[1])
    request = {"op": "listen", "family": family, "host": host, "port": int(address[1])}
    request["reuse_port"] = bool(_option(sock, socket.SOL_SOCKET, "SO_REUSEPORT"))
    if sock.family == socket.AF_INET6:
        request["v6only"] = bool(_option(sock, socket.IPPROTO_IPV6, "IPV6_V6ONLY"))
    mine, theirs = socket.socketpair()
    try:
        line = (json.dumps(request) + "\n").encode()
        fds = array.array("i", [theirs.fileno()])
        # A socket object for the inherited fd only while sending (detached after, so
        # nothing closes it and -X dev sees no unclosed socket at exit).
        channel = socket.socket(fileno=_channel)
        try:
            channel.sendmsg([line], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        except OSError as exc:
            sys.stderr.write("corral shim: no channel to corral (%s); binding alone\n" % exc)
            return None
        finally:
            channel.detach()
        theirs.close()
        mine.settimeout(REPLY_TIMEOUT_S)
        data, ancdata, _flags, _addr = mine.recvmsg(65536, socket.CMSG_SPACE(fds.itemsize))
        mine.settimeout(None)
        kept = os.dup(mine.fileno())  # corral's control line to this process (see _control)
    finally:
        mine.close()
        theirs.close()
    received = array.array("i")
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            received.frombytes(payload[: len(payload) - len(payload) % received.itemsize])
    answer = json.loads(data.decode() or "{}")
    if answer.get("ok") and received:
        for extra in received[1:]:
            os.close(extra)
        _control(kept)
        return received[0]
    for fd in received:
        os.close(fd)
    os.close(kept)
    number = answer.get("errno") or errno.EADDRNOTAVAIL
    raise OSError(
        number,
        "%s (corral could not share %s:%s)"
        % (answer.get("message") or os.strerror(number), host, address[1]),
    )


def _numeric(family, host, port):
    if host in ("", None):
        return "::" if family == socket.AF_INET6 else "0.0.0.0"
    try:
        socket.inet_pton(family, host)
        return host
    except OSError:
        pass
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    return infos[0][4][0]


def _option(sock, level, name):
    try:
        return sock.getsockopt(level, getattr(socket, name))
    except (OSError, AttributeError):
        return 0


def _handle_stop_signals():
    """Put the draining stop in front of whatever SIGINT/SIGTERM do now (the default, or
    the app's own handler, which then runs after the drain)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if signum in _handled or previous in (None, signal.SIG_IGN):
            continue
        _handled[signum] = previous
        signal.signal(signum, _on_stop)


def _detach():
    """Stop taking connections: this process's shared fds now name a socket nobody
    connects to (closing or shutting down the shared one would hurt the others)."""
    for sock in list(_shared):
        try:
            idle = socket.socket(sock.family, socket.SOCK_STREAM)
            _real_bind(idle, ("::1" if sock.family == socket.AF_INET6 else "127.0.0.1", 0))
            _real_listen(idle, 1)
            # Non-blocking: an event loop's epoll may still report the shared socket under
            # this fd number; its accept() must then fail with EAGAIN, not block the loop.
            idle.setblocking(False)
            os.dup2(idle.fileno(), sock.fileno(), inheritable=sock.get_inheritable())
            idle.close()
        except OSError:
            pass


def _control(fd):
    """Serve corral's "detach" on the private socket of a request that got a socket:
    corral asks before it signals an instance to stop, so even a server that shuts
    down at once on the signal (aiohttp, a thread of Django's reloader) took nothing new."""
    import threading

    def loop():
        conn = socket.socket(fileno=fd)
        try:
            while True:
                data = conn.recv(64)
                if not data:
                    return
                if b"detach" in data:
                    _detach()
                    conn.sendall(b"detached\n")
        except OSError:
            return
        finally:
            conn.detach()

    thread = threading.Thread(target=loop, name="corral-shim", daemon=True)
    thread.start()


def _on_stop(signum, frame):
    import signal
    import threading

    _detach()
    for number, default in _handled.items():
        signal.signal(number, default)
    main = threading.main_thread().ident

    def later():
        signal.pthread_kill(main, signum)

    timer = threading.Timer(_drain_s, later)
    timer.daemon = True
    timer.start()

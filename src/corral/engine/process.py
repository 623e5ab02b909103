"""Provides ManagedProcess: one instance of an app, its runs, and its restart loop.

Every command on one process (start, stop, restart, the restart that follows a crash)
takes the process's lock, so they happen one after another: a stop that comes while a
restart is pending cancels it, and a restart that comes while stopping waits for the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal as signals
import subprocess
import time
from collections import deque
from collections.abc import Callable

from corral.config.spec import AppSpec
from corral.engine import pidfile, policy, readiness, shim, spawn, tree
from corral.engine.broker import Channel
from corral.engine.events import (
    Lifecycle,
    LogLines,
    ProbeChecked,
    ProbeName,
    ProbeStatus,
    ProcessInfo,
    RestartReason,
    StateChanged,
    Stream,
)
from corral.engine.notify import NotifySocket
from corral.engine.policy import Decision, Ending, History
from corral.engine.probes import Prober
from corral.engine.reaper import REAPER
from corral.engine.run import (
    Host,
    Run,
    how_it_ended,
    resolve_exit,
    signal_number,
)
from corral.engine.sockets import SharedSockets
from corral.engine.states import ProcessState, check_transition
from corral.figures import duration_text

Gate = Callable[[], tuple[str, ...]]
"""What of the process's `depends_on` does not hold now (engine/gate.py); empty: it may start."""

REASONS_KEPT = 20
"""Restart reasons remembered per process (shown by `describe`)."""
DETACH_TIMEOUT_S = 0.5
"""How long a stop waits for a run's processes to stop accepting on shared sockets."""
DRAIN_TIMEOUT_S = 1.0
"""After a run's tree is dead its pipes reach EOF at once; this only guards odd fd sharing."""


_ENDED = frozenset({ProcessState.ERRORED, ProcessState.COMPLETED})
"""States a process settles in by itself; a shutdown leaves them as they are."""


class ManagedProcess:
    """One supervised instance: state, counters, current run and pending restart."""

    def __init__(
        self,
        host: Host,
        pm_id: int,
        spec: AppSpec,
        instance: int,
        increment_value: int | None = None,
    ) -> None:
        self.host = host
        self.id = pm_id
        self.spec = spec
        self.instance = instance
        self.increment_value = increment_value
        self.state = ProcessState.STOPPED
        self.history = History()
        self.restarts = 0
        self.created_at = time.time()
        self.exit_code: int | None = None
        self.exit_signal: str | None = None
        self.reasons: deque[RestartReason] = deque(maxlen=REASONS_KEPT)
        self.env: dict[str, str] = {}
        self.waiting_for: tuple[str, ...] = ()
        """While `waiting`: what of its depends_on does not hold (`db ready`)."""
        # Kept up to date by the supervisor's sampler and triggers; shown by `info`.
        self.cpu: float | None = None
        self.memory: int | None = None
        self.cpu_seconds: float = 0.0
        """CPU time of every run of this process's tree so far (a counter, for Prometheus)."""
        self.watching = False
        """True while file changes restart this process (kept by the supervisor's triggers)."""
        self.next_cron: float | None = None
        self.watch_on = bool(spec.watch)
        """The watch switch (PM2's `restart --watch` flips it): watching resumes with the
        next start while it is on. Saved with the process, like `paused`."""
        self.paused = True
        """True while a user's stop holds this process's triggers (watch, cron); a new
        process is paused until its first start. A process that ended on its own is not."""
        self.sockets: SharedSockets | None = None
        """The app's shared listening sockets (cluster mode), owned by the supervisor."""
        self.probe: dict[str, ProbeStatus] = {}
        """Where each of its probes stands (the latest run's), shown as jlist's `probe`."""
        self._lock = asyncio.Lock()
        self._run: Run | None = None
        self._pending: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- views

    @property
    def pid(self) -> int | None:
        """The root pid of the current run."""
        return self._run.pid if self._run else None

    @property
    def token(self) -> str | None:
        """The current run's token (see tree.py), which its orphans carry."""
        return self._run.token if self._run else None

    def info(self) -> ProcessInfo:
        """A snapshot for front ends."""
        run = self._run
        return ProcessInfo(
            id=self.id,
            name=self.spec.name,
            namespace=self.spec.namespace,
            instance=self.instance,
            status=self.state,
            pid=run.pid if run else None,
            restarts=self.restarts,
            unstable_restarts=self.history.unstable_restarts,
            started_at=run.started_at if run else None,
            created_at=self.created_at,
            exit_code=self.exit_code,
            exit_signal=self.exit_signal,
            reasons=tuple(self.reasons),
            spec=self.spec,
            env=self.env,
            # Not running: no figures, at once (the sampler clears them within a tick).
            cpu=self.cpu if run else None,
            memory=self.memory if run else None,
            cpu_seconds=self.cpu_seconds,
            watching=self.watching,
            next_cron=self.next_cron,
            watch_on=self.watch_on,
            paused=self.paused,
            probe=dict(self.probe),
            waiting_for=self.waiting_for,
        )

    # -------------------------------------------------------------- commands

    async def start(self, gate: Gate | None = None, *, if_waiting: bool = False) -> None:
        """Start unless already running (a pending restart happens now instead).

        With GATE, a process that is not running starts only if nothing of its depends_on
        is unmet; otherwise it is `waiting` (the supervisor starts it once all holds).
        IF_WAITING: only if it is still `waiting` by then (not stopped meanwhile, and the
        host not closing): the supervisor's own start of a process whose wait is over.
        """
        async with self._lock:
            if self._run is not None:
                return
            if if_waiting and (self.state is not ProcessState.WAITING or self.host.closing):
                return
            if gate is not None and self.state is not ProcessState.WAITING_RESTART:
                unmet = gate()
                if unmet:
                    self._wait(unmet)
                    return
            self._cancel_pending()
            await self._launch()

    def _wait(self, unmet: tuple[str, ...]) -> None:
        """Be `waiting` for UNMET (a change of reasons is published like a change of state)."""
        if self.state is ProcessState.WAITING and unmet == self.waiting_for:
            return
        first = self.state is not ProcessState.WAITING
        self.waiting_for = unmet
        # Said at each change too: `up --no-ui` and `logs` show what it waits for now.
        self._say(f"waiting: {', '.join(unmet)}")
        if first:
            self._set(ProcessState.WAITING)
        else:
            self._publish_state()

    def still_waiting(self, unmet: tuple[str, ...]) -> None:
        """A dependency moved but the process still cannot start: new reasons, if any."""
        if self.state is ProcessState.WAITING and not self._lock.locked():
            self._wait(unmet)

    async def stop(self) -> None:
        """Stop and stay stopped; cancels a pending restart."""
        async with self._lock:
            self._cancel_pending()
            was = self.state
            if self._run is not None:
                await self._end(Ending.USER_STOP)
            elif self.state in _ENDED and self.host.closing:
                return  # shutting down: an app that ended is reported as it ended, not "stopped"
            elif self.state is not ProcessState.STOPPED:
                self._set(ProcessState.STOPPED)
            if self.state is ProcessState.STOPPED and was is not ProcessState.STOPPED:
                self._say("stopped")

    async def restart(self, ending: Ending = Ending.USER_RESTART, detail: str = "user") -> None:
        """Stop (if running) and start again, with fresh crash-loop counters.

        DETAIL says why, for the lifecycle line and `describe` ("memory 212M > limit 200M").
        A process that was not running is started, and that is not a restart: only a run
        that was ended and replaced counts in `restarts` (PM2's restart_time).
        """
        async with self._lock:
            self._cancel_pending()
            if self.state is ProcessState.WAITING:
                return  # it starts once its dependencies hold; a restart does not hurry it
            self._say(f"restarting ({detail})")
            decision = policy.decide(self.spec, self.history, ending, 0.0)
            self.history = decision.history
            if self._run is not None:
                await self._end(ending)
                self._count(policy.REASON[ending], detail)
            await self._launch()

    async def reload(self, ending: Ending = Ending.USER_RESTART, detail: str = "reload") -> bool:
        """Replace the running instance without downtime when it shares sockets.

        The replacement starts on the same sockets (or binds with SO_REUSEPORT itself);
        once it is ready the old run is stopped gracefully. A replacement that exits or
        is not ready in time (with ready_timeout_fails) is stopped and the old run keeps
        serving: returns False. Apps without shared sockets are restarted, as in PM2.
        """
        shared = self.sockets is not None or shim.shares_sockets(self.spec)
        if not shared and not self.spec.reuse_port:
            await self.restart(ending, detail)
            return True
        async with self._lock:
            old = self._run
            if old is None or self.state is not ProcessState.ONLINE:
                self._cancel_pending()
                if old is not None:
                    await self._end(Ending.USER_RESTART)
                    self._count(policy.REASON[ending], detail)
                await self._launch()
                return True
            self._say("reloading: starting a replacement")
            try:
                new = self._spawn_run()
            except OSError as exc:
                self._say(f"reload failed: cannot start the replacement: {exc}", "error")
                return False
            assert new.ready is not None
            ok = await asyncio.shield(new.ready)
            if ok and new.channel is not None and shim.shares_sockets(self.spec):
                await readiness.listening(self.spec, new.channel.listening, new.exited)
            if not ok and (self.spec.ready_timeout_fails or new.exited.done()):
                self._run = old
                await self._terminate(new, Ending.USER_STOP)
                self._say(
                    "reload failed: the replacement never got ready; the old one serves on", "error"
                )
                return False
            await self._terminate(old, Ending.USER_RESTART)
            self.history = History()
            self._count(policy.REASON[ending], detail)
            self._set(ProcessState.ONLINE)
            return True

    def send_signal(self, sig: int) -> bool:
        """Send SIG to the root of the current run (PM2's sendSignal); False if not running."""
        if self._run is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._run.pid, sig)
            return True
        return False

    def kill_now(self) -> None:
        """SIGKILL the current run's whole tree without waiting (a second Ctrl-C)."""
        run = self._run
        if run is not None:
            procs = tree.collect(run.pid, run.token, self.host.managed, self.host.lineage)
            tree.send(procs, signals.SIGKILL, group=run.pid)

    def reset(self) -> None:
        """Zero the counters (PM2's `reset`)."""
        self.restarts = 0
        self.history = History()
        self.created_at = time.time()
        self._publish_state()

    def replace_spec(self, spec: AppSpec) -> None:
        """Use SPEC from the next run on (restart --update-env, a re-read ecosystem file)."""
        self.spec = spec

    # ------------------------------------------------------------ internals

    async def _launch(self) -> None:
        """Spawn a run; a spawn that fails is an exit like any other (the policy decides)."""
        while True:
            self._set(ProcessState.LAUNCHING)
            try:
                self._spawn_run()
            except OSError as exc:
                self._say(f"cannot start {spawn.argv_for(self.spec)[0]}: {exc}", "error")
                self.exit_code, self.exit_signal = None, None
                decision = policy.decide(self.spec, self.history, Ending.EXIT, 0.0)
                if self._apply(decision):
                    continue
            return

    def _spawn_run(self) -> Run:
        """Start a new run and make it the current one; raises OSError when exec fails."""
        token = spawn.new_token()
        identity = spawn.Identity(
            self.id,
            self.spec.name,
            self.spec.namespace,
            self.instance,
            self.increment_value,
            self.host.home,
        )
        env = spawn.env_for(self.spec, identity, token)
        notify = NotifySocket(token) if self.spec.wait_ready else None
        if notify is not None:
            env["NOTIFY_SOCKET"] = notify.env_value
        channel = None
        if shim.kind(self.spec) is not None:
            channel = Channel(self.host.pool, self.spec.name, self._say)
        try:
            popen = spawn.spawn(self.spec, env, self.sockets, channel)
        except OSError:
            if notify is not None:
                notify.close()
            if channel is not None:
                channel.close()
            raise
        if channel is not None:
            channel.started()
        self.env = env
        return self._begin(popen, token, notify, channel)

    def _begin(
        self,
        popen: subprocess.Popen[bytes],
        token: str,
        notify: NotifySocket | None,
        channel: Channel | None,
    ) -> Run:
        loop = asyncio.get_running_loop()
        run = Run(popen, token, time.time(), time.monotonic(), loop.create_future())
        run.notify, run.channel, run.ready = notify, channel, loop.create_future()
        REAPER.watch(popen.pid, lambda status: resolve_exit(run.exited, status))
        self.host.managed.add(popen.pid)
        assert popen.stdout is not None
        assert popen.stderr is not None
        run.readers = [
            spawn.read_lines(popen.stdout, self._sink("out"), self.host.lender(self.id, "out")),
            spawn.read_lines(popen.stderr, self._sink("err"), self.host.lender(self.id, "err")),
        ]
        replacing = self._run is not None
        self._run = run
        self.exit_code, self.exit_signal = None, None
        self._say(f"started (pid {popen.pid})")
        self._write_pid_file(popen.pid)
        readiness_prober = self._prober(run, "readiness")
        liveness_prober = self._prober(run, "liveness")
        if not replacing and not readiness.needed(self.spec):
            self._set(ProcessState.ONLINE)
        self._spawn_task(self._watch(run))
        self._spawn_task(self._await_ready(run, readiness_prober))
        if liveness_prober is not None:
            task = loop.create_task(self._live(run, liveness_prober))
            run.probing.append(task)
        return run

    def _prober(self, run: Run, name: ProbeName) -> Prober | None:
        """RUN's NAME probe, if the app has one; its standing starts afresh."""
        probe = self.spec.readiness_probe if name == "readiness" else self.spec.liveness_probe
        if probe is None:
            self.probe.pop(name, None)
            return None
        prober = Prober(name, probe, self.env, self.spec.cwd, self._probe_report(run))
        run.probers.append(prober)
        self.probe[name] = prober.status  # published once it runs
        return prober

    def _probe_report(self, run: Run) -> Callable[[ProbeStatus], None]:
        def report(status: ProbeStatus) -> None:
            if self._run is run:  # a replaced run's probe no longer speaks for the process
                self._probe_changed(status)

        return report

    def _probe_changed(self, status: ProbeStatus) -> None:
        before = self.probe.get(status.probe)
        self.probe[status.probe] = status
        turned = status.verdict == "failing" and (before is None or before.verdict != "failing")
        if turned and status.probe == "readiness":  # liveness says so as it restarts
            self._say(f"readiness: {status.last_error} ({status.failures} in a row)", "warn")
        live = self.spec.liveness_probe
        counted = before is not None and status.failures > before.failures
        if status.probe == "liveness" and counted and live and status.verdict != "failing":
            # Each failure short of a restart is said: a flapping app shows in its log.
            threshold = live.failure_threshold
            self._say(f"liveness: {status.last_error} ({status.failures} of {threshold})", "warn")
        self.host.publish(ProbeChecked(self.id, self.spec.name, time.time(), status))

    async def _live(self, run: Run, prober: Prober) -> None:
        """RUN's liveness probe, from the moment it is online until it fails or RUN ends."""
        assert run.ready is not None
        await asyncio.shield(run.ready)
        if self._run is not run or run.exited.done():
            return
        error = await prober.until_failing()
        # Another task ends the run: this one is cancelled when the run ends.
        self._spawn_task(self._liveness_failed(run, error))

    async def _liveness_failed(self, run: Run, error: str) -> None:
        """Kill RUN and let the policy decide, as if it had crashed (backoff, max_restarts)."""
        async with self._lock:
            if self._run is not run or run.ending is not None or self.host.closing:
                return
            failures = self.probe.get("liveness")
            count = failures.failures if failures else 0
            self._say(f"liveness: {error} ({count} in a row); killing it", "warn")
            self._set(ProcessState.STOPPING)
            if not await self._terminate(run, Ending.EXIT):
                self._say("some processes survived SIGKILL", "error")
                self._set(ProcessState.ERRORED)
                return
            uptime_ms = (time.monotonic() - run.started_mono) * 1000
            # A hung app that exits cleanly on its stop signal is still a failure: no code.
            decision = policy.decide(self.spec, self.history, Ending.EXIT, uptime_ms, None)
            if self._apply(decision, ("liveness", error)):
                await self._launch()

    async def _await_ready(self, run: Run, prober: Prober | None) -> None:
        """Resolve RUN's readiness; a fresh start turns `online` then (PM2's wait_ready)."""
        assert run.ready is not None
        told = [s.ready for s in (run.notify, run.channel) if s is not None]
        passing = prober.until_passing() if prober is not None else None
        ok = await readiness.wait(self.spec, told, run.exited, passing)
        if run.notify is not None:
            run.notify.close()
        if not run.ready.done():
            run.ready.set_result(ok)
        if self._run is not run or self.state is not ProcessState.LAUNCHING:
            return
        if ok:
            self._set(ProcessState.ONLINE)
        elif not run.exited.done():
            waited = f"not ready after {self.spec.listen_timeout} ms"
            if self.spec.ready_timeout_fails:
                self._say(f"{waited}; killing it (ready_timeout_fails)", "error")
                tree.send(
                    tree.collect(run.pid, run.token, self.host.managed, self.host.lineage),
                    signals.SIGKILL,
                    group=run.pid,
                )
            else:
                self._say(f"{waited}; considered online", "warn")
                self._set(ProcessState.ONLINE)

    async def _watch(self, run: Run) -> None:
        """Wait for the run's root to exit; if nobody asked for it, let the policy decide."""
        status = await run.exited
        if run.ending is not None:
            return
        async with self._lock:
            if self._run is not run or run.ending is not None:
                return
            run.ending = Ending.EXIT
            uptime = await self._finish(run, status)
            ending = Ending.USER_STOP if self.host.closing else Ending.EXIT
            decision = policy.decide(self.spec, self.history, ending, uptime, self.exit_code)
            if self._apply(decision):
                await self._launch()

    async def _end(self, ending: Ending) -> None:
        """End the current run on purpose: kill its tree, then settle its accounts."""
        run = self._run
        assert run is not None
        self._set(ProcessState.STOPPING)
        dead = await self._terminate(run, ending)
        if not dead:
            self._say("some processes survived SIGKILL", "error")
            self._set(ProcessState.ERRORED)
        elif ending is Ending.USER_STOP:
            self._set(ProcessState.STOPPED)

    async def _terminate(self, run: Run, ending: Ending) -> bool:
        """Kill RUN's tree on purpose and settle its accounts; True if nothing survived."""
        run.ending = ending
        if run.channel is not None and not run.exited.done():
            # Its processes stop taking connections from the shared sockets first.
            await run.channel.detach(DETACH_TIMEOUT_S)
        dead = await tree.terminate(
            run.pid,
            run.token,
            self.host.managed,
            signal_number(self.spec.kill_signal),
            self.spec.kill_timeout,
            run.exited,
            self.spec.treekill,
            self.host.lineage,
        )
        try:
            status = await asyncio.wait_for(asyncio.shield(run.exited), DRAIN_TIMEOUT_S)
        except TimeoutError:
            REAPER.reap()
            status = run.exited.result() if run.exited.done() else 9
        await self._finish(run, status, cleanup=False)
        return dead

    async def _finish(self, run: Run, status: int, cleanup: bool = True) -> float:
        """Record how the run ended, kill what it left behind, drain its output."""
        uptime_ms = (time.monotonic() - run.started_mono) * 1000
        self.exit_code, self.exit_signal = spawn.decode_status(status)
        how = (
            f"exited with code {self.exit_code}"
            if self.exit_signal is None
            else f"killed by {self.exit_signal}"
        )
        level = "info" if run.ending is not Ending.EXIT or self.exit_code == 0 else "warn"
        if cleanup and tree.may_have_leftovers(run.pid, self.host.managed):
            # The root is gone; its descendants go too (systemd's control-group rule).
            await tree.terminate(
                run.pid,
                run.token,
                self.host.managed,
                signal_number(self.spec.kill_signal),
                self.spec.kill_timeout,
                lineage=self.host.lineage,
            )
        await asyncio.wait([reader.done for reader in run.readers], timeout=DRAIN_TIMEOUT_S)
        for reader in run.readers:
            reader.close()
        # Said only now: the lines the run wrote before it ended (a traceback written as
        # the interpreter exits) are all published first, so a reader sees cause, then exit.
        self._say(f"{how} after {duration_text(uptime_ms)}", level)
        run.popen.returncode = self.exit_code if self.exit_code is not None else -1
        spawn.close_quietly(run.popen)
        self.host.managed.discard(run.pid)
        REAPER.forget(run.pid)
        if self.spec.pid_file and (path := pidfile.path_for(self.spec.pid_file, self.id)):
            pidfile.remove(path, run.pid)
        if run.notify is not None:
            run.notify.close()
        if run.channel is not None:
            run.channel.close()
        for task in run.probing:
            if task is not asyncio.current_task():
                task.cancel()
        for prober in run.probers:
            prober.stopped()
        if self._run is run:
            self._run = None
        return uptime_ms

    def _apply(self, decision: Decision, cause: tuple[str, str] | None = None) -> bool:
        """Carry out a policy decision; True means 'launch again now'. CAUSE is the
        restart's (reason, detail) when it is not a crash of its own (liveness)."""
        self.history = decision.history
        if decision.state is ProcessState.ERRORED:
            self._record("errored", decision.reason)
            self._say(f"errored: {decision.reason}; not restarting", "error")
            self._set(ProcessState.ERRORED)
            return False
        if decision.state in (ProcessState.STOPPED, ProcessState.COMPLETED):
            self._say(f"not restarting: {decision.reason}")
            self._set(decision.state)
            return False
        reason, how = cause or ("crash", how_it_ended(self.exit_code, self.exit_signal))
        said = how if reason == "crash" else f"{reason}: {how}"
        if decision.delay_ms <= 0:
            self._say(f"restarting now ({said})")
            self._count(reason, how)
            return True
        self._say(f"restarting in {decision.delay_ms} ms ({decision.reason}; {said})")
        self._set(ProcessState.WAITING_RESTART)
        self._pending = asyncio.get_running_loop().create_task(
            self._restart_later(decision.delay_ms, how, reason)
        )
        return False

    async def _restart_later(self, delay_ms: int, how: str, reason: str = "crash") -> None:
        await asyncio.sleep(delay_ms / 1000)
        async with self._lock:
            if self._pending is not asyncio.current_task():
                return
            self._pending = None
            if self.host.closing:
                self._set(ProcessState.STOPPED)
                return
            # Counted now, when it happens: a start by hand meanwhile is no restart.
            self._count(reason, how)
            await self._launch()

    def _cancel_pending(self) -> None:
        if self._pending is not None and self._pending is not asyncio.current_task():
            self._pending.cancel()
        self._pending = None

    def _spawn_task(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sink(self, stream: Stream) -> spawn.LineSink:
        publish, pm_id, name = self.host.publish, self.id, self.spec.name

        def sink(ts: float, block: bytes) -> None:
            publish(LogLines(pm_id, name, stream, ts, block))

        return sink

    def _write_pid_file(self, pid: int) -> None:
        """`pid_file`: tell other tools which pid this run has (a failure is said, not fatal)."""
        path = pidfile.path_for(self.spec.pid_file, self.id) if self.spec.pid_file else None
        problem = pidfile.write(path, pid) if path else None
        if problem:
            self._say(problem, "warn")

    def _set(self, state: ProcessState) -> None:
        check_transition(self.state, state)
        if state is self.state:
            return
        if self.state is ProcessState.WAITING:
            self.waiting_for = ()
        self.state = state
        self._publish_state()

    def _record(self, reason: str, detail: str) -> None:
        self.reasons.append(RestartReason(time.time(), reason, detail))

    def _count(self, reason: str, detail: str) -> None:
        """A restart happened: count it (PM2's restart_time) and say why."""
        self.restarts += 1
        self._record(reason, detail)

    def publish_state(self) -> None:
        """Tell every sink this process's current snapshot (its triggers changed, say)."""
        self._publish_state()

    def _publish_state(self) -> None:
        self.host.publish(StateChanged(self.info(), time.time()))

    def _say(self, message: str, level: str = "info") -> None:
        lvl = level if level in ("info", "warn", "error") else "info"
        self.host.publish(
            Lifecycle(self.id, self.spec.name, time.time(), message, lvl)  # type: ignore[arg-type]
        )
